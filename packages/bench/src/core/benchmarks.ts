/**
 * The core benchmarks: what `Predict` costs the client per call, with and without HTTP, and
 * per streamed turn.
 */
import { type Benchmark, isOverheadRow, num, overheadRows, overheadSummary, readJson } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "predict-overhead",
    title: "Predict client CPU per call vs a bare fetch of the same request",
    timeoutMinutes: 15,
    invocation: ({ jsonFile, quick }) => ({
      script: "packages/bench/src/core/predict-overhead.ts",
      args: [...(quick ? ["--calls", "300", "--rounds", "1"] : ["--calls", "3000", "--rounds", "3"]), "--concurrency", "64", "--json", jsonFile]
    }),
    parse: (stdout, jsonFile) => {
      const json = readJson(jsonFile)
      const fromJson = typeof json === "object" && json !== null && "rows" in json && Array.isArray(json.rows)
        ? json.rows.filter(isOverheadRow)
        : []
      const rows = fromJson.length > 0 ? fromJson : overheadRows(stdout)
      return { summary: overheadSummary(rows), figures: { rows, source: fromJson.length > 0 ? "json" : "stdout" } }
    }
  },
  {
    name: "core-overhead",
    title: "core's own CPU per Predict call (no HTTP)",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({ script: "packages/bench/src/core/core-overhead.ts", args: ["--calls", quick ? "2000" : "20000"] }),
    parse: (stdout) => {
      const rows = [...stdout.matchAll(/^(\S.*?)\s+(\d+(?:\.\d+)?)\s*µs\/call/gm)].map((m) => ({ name: m[1]!.trim(), microsPerCall: num(m[2]) }))
      return {
        summary: rows.length === 0 ? "no figures parsed (see output)" : rows.map((r) => `${r.name} ${r.microsPerCall} µs`).join("; "),
        figures: { rows }
      }
    }
  },
  {
    name: "stream-turn-overhead",
    title: "CPU per streamed turn (in-process model and over HTTP)",
    timeoutMinutes: 15,
    invocation: ({ quick }) => ({
      script: "packages/bench/src/core/stream-turn-overhead.ts",
      args: quick ? ["--turns", "320", "--rounds", "1"] : ["--turns", "2000", "--rounds", "3"]
    }),
    parse: (stdout) => {
      const rows = [...stdout.matchAll(/^(\S.*?)\s+(\d+)\s*µs\/turn/gm)].map((m) => ({ name: m[1]!.trim(), microsPerTurn: num(m[2]) }))
      return {
        summary: rows.length === 0 ? "no figures parsed (see output)" : rows.map((r) => `${r.name} ${r.microsPerTurn} µs`).join("; "),
        figures: { rows }
      }
    }
  }
]
