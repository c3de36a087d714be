/**
 * The telemetry benchmarks: tracing's overhead at a realistic model latency (`overhead.ts`),
 * with the OpenTelemetry SDK's own cost for the same spans measured in the same run
 * (`floor.ts`). The script prints its `target:` lines and writes its figures to `--json`.
 * And tracing's CPU per call on an in-process model (`cpu.ts`), without the network's noise, each
 * mode in its own process.
 */
import { type Benchmark, lineWith, readJson, targetOf } from "../suite/Benchmark.js"

interface Row {
  readonly mode: string
  readonly wallRatio?: number | undefined
  readonly tracingMicrosPerCall?: number | undefined
  readonly vsSdk?: number | undefined
}

const isRow = (u: unknown): u is Row => typeof u === "object" && u !== null && "mode" in u && typeof u.mode === "string"

const rowsOf = (json: unknown): ReadonlyArray<Row> =>
  typeof json === "object" && json !== null && "rows" in json && Array.isArray(json.rows) ? json.rows.filter(isRow) : []

const fixed = (n: number | undefined, digits: number) => (typeof n === "number" ? n.toFixed(digits) : "?")

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "telemetry-overhead",
    title: "tracing overhead at 0.5-2 s latency: every span exported, collector down, hanging, vs off; CPU vs the SDK's own",
    timeoutMinutes: 40,
    invocation: ({ jsonFile, quick }) => ({
      script: "packages/bench/src/telemetry/overhead.ts",
      args: [
        ...(quick ? ["--calls", "300", "--rounds", "1", "--workloads", "3"] : ["--calls", "3000", "--rounds", "3", "--workloads", "10"]),
        "--concurrency",
        "64",
        "--json",
        jsonFile
      ],
      nodeFlags: ["--expose-gc"]
    }),
    parse: (stdout, jsonFile) => {
      const json = readJson(jsonFile)
      const rows = rowsOf(json)
      const measured = rows.filter((r) => ["export", "down", "hang"].includes(r.mode))
      const sdk = rows.find((r) => r.mode === "export")?.vsSdk
      return {
        target: targetOf(stdout),
        summary: measured.length === 0
          ? "no figures (see output)"
          : `wall vs off: ${measured.map((r) => `${r.mode} ${fixed(r.wallRatio, 4)}x`).join(", ")}; tracing CPU vs the SDK's: ${fixed(sdk, 2)}x`,
        figures: typeof json === "object" && json !== null ? { ...json } : {}
      }
    }
  },
  {
    name: "telemetry-cpu",
    title:
      "tracing's CPU per call on an in-process model (no network), each mode in its own process: export with and without content vs the SDK's own spans " +
      "and vs the same spans through @effect/opentelemetry (the Effect floor)",
    // twelve modes (six before the Effect floor's), each in its own process, five rounds
    timeoutMinutes: 40,
    invocation: ({ jsonFile, quick }) => ({
      script: "packages/bench/src/telemetry/cpu.ts",
      args: [...(quick ? ["--calls", "1000", "--rounds", "1", "--warmup", "500", "--reps", "1"] : ["--calls", "5000", "--rounds", "5", "--reps", "3"]), "--json", jsonFile],
      nodeFlags: ["--expose-gc"]
    }),
    parse: (stdout, jsonFile) => {
      const json = readJson(jsonFile)
      return {
        target: targetOf(stdout),
        summary: lineWith(stdout, /^target:/) ?? "no figures (see output)",
        figures: typeof json === "object" && json !== null ? { ...json } : {}
      }
    }
  }
]
