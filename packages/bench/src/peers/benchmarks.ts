/**
 * The peer comparison as a benchmark of the suite.
 */
import { type Benchmark, readJson } from "../suite/Benchmark.js"
import { floorIds } from "./index.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "peers",
    title: "peer comparison (CPU per prediction, streams bounded)",
    timeoutMinutes: 30,
    invocation: ({ jsonFile, quick, updateReadme }) => ({
      script: "packages/bench/src/peers/compare.ts",
      args: [...(quick ? ["--quick"] : []), ...(updateReadme ? ["--update-readme"] : []), "--json", jsonFile, "--markdown", `${jsonFile}.md`]
    }),
    parse: (_stdout, jsonFile) => {
      const json = readJson(jsonFile)
      if (typeof json !== "object" || json === null || !("batch" in json) || !Array.isArray(json.batch)) {
        return { summary: "no result file (see output)", figures: {} }
      }
      const rows = json.batch as ReadonlyArray<{ readonly id: string; readonly cpuMicrosPerPrediction: number }>
      const stream = "stream" in json && Array.isArray(json.stream) ? (json.stream as ReadonlyArray<{ readonly id: string; readonly bounded: boolean }>) : []
      const ours = rows.filter((r) => r.id.startsWith("effect-dspy"))
      const others = rows.filter((r) => !r.id.startsWith("effect-dspy") && !floorIds.includes(r.id))
      const best = Math.min(...ours.map((r) => r.cpuMicrosPerPrediction))
      const cheapestPeer = others.reduce<{ readonly id: string; readonly cpuMicrosPerPrediction: number } | undefined>(
        (a, r) => (a === undefined || r.cpuMicrosPerPrediction < a.cpuMicrosPerPrediction ? r : a),
        undefined
      )
      const unbounded = stream.filter((s) => !s.bounded).map((s) => s.id)
      // issue 14's guard: Predict's client CPU per prediction at or below the openai SDK's
      const openai = rows.find((r) => r.id === "openai")
      const guard = openai === undefined || ours.length === 0 ? "" : `; effect-dspy / openai SDK: ${(best / openai.cpuMicrosPerPrediction).toFixed(2)}x`
      return {
        summary: `client CPU per prediction: ${rows.map((r) => `${r.id} ${r.cpuMicrosPerPrediction} µs`).join(", ")}${guard}${
          unbounded.length > 0 ? `; streams NOT bounded: ${unbounded.join(", ")}` : stream.length > 0 ? "; every stream limit held" : ""
        }`,
        // The issue's target: less CPU per prediction than every peer.
        target: cheapestPeer === undefined || ours.length === 0 ? undefined : best < cheapestPeer.cpuMicrosPerPrediction ? "PASS" : "FAIL",
        figures: json
      }
    }
  }
]
