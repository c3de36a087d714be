/**
 * The telemetry benchmark: what tracing costs at a realistic model latency, against the
 * OpenTelemetry SDK's own floor in the same run (`overhead.ts`, which writes its figures as JSON).
 */
import { type Benchmark, readJson } from "../suite/Benchmark.js"

interface Row {
  readonly mode: string
  readonly wallRatio?: number | undefined
  readonly tracingMicrosPerCall?: number | undefined
  readonly vsSdk?: number | undefined
}

const isRow = (u: unknown): u is Row => typeof u === "object" && u !== null && "mode" in u && typeof u.mode === "string"

const rowsOf = (json: unknown): ReadonlyArray<Row> =>
  typeof json === "object" && json !== null && "rows" in json && Array.isArray(json.rows) ? json.rows.filter(isRow) : []

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "telemetry-overhead",
    title: "tracing overhead at a realistic latency, every span exported vs off",
    timeoutMinutes: 30,
    invocation: ({ jsonFile, quick }) => ({
      script: "packages/bench/src/telemetry/overhead.ts",
      args: [...(quick ? ["--calls", "300", "--rounds", "1", "--memory", "off"] : ["--calls", "3000", "--rounds", "3"]), "--json", jsonFile],
      nodeFlags: ["--expose-gc"]
    }),
    parse: (_stdout, jsonFile) => {
      const rows = rowsOf(readJson(jsonFile))
      const traced = rows.filter((r) => ["export", "down", "hang"].includes(r.mode))
      const exporting = rows.find((r) => r.mode === "export")
      // the script's targets: wall time at most 1.004x of off; exporting's CPU at most 1.5x the SDK's own
      const pass = traced.every((r) => r.wallRatio === undefined || r.wallRatio <= 1.004) &&
        (exporting?.vsSdk === undefined || exporting.vsSdk <= 1.5)
      return {
        target: traced.length === 0 ? undefined : pass ? "PASS" : "FAIL",
        summary: traced.length === 0
          ? "no figures parsed (see output)"
          : traced.map((r) =>
            `${r.mode} wall ${r.wallRatio?.toFixed(4) ?? "?"}x off, tracing ${r.tracingMicrosPerCall?.toFixed(0) ?? "?"} µs/call${
              r.vsSdk === undefined ? "" : ` (${r.vsSdk.toFixed(2)}x the SDK's)`
            }`
          ).join("; "),
        figures: { rows }
      }
    }
  }
]
