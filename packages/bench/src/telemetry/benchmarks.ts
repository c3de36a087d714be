/**
 * The telemetry benchmarks. Their scripts are still in `packages/telemetry/bench` (the telemetry
 * engineers move them here); only the paths below change when they do.
 */
import { type Benchmark, lineWith, num } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "telemetry-overhead",
    title: "tracing overhead, every span exported vs off",
    timeoutMinutes: 20,
    invocation: ({ quick }) => ({
      script: "packages/telemetry/bench/overhead.ts",
      args: quick ? ["300", "64", "1"] : ["3000", "64", "5"],
      nodeFlags: ["--expose-gc"]
    }),
    parse: (stdout) => {
      const rows: Array<{ scenario: string; mode: string; callsPerSecond: number; rateRatio: number; cpuMicrosPerCall: number; cpuRatio: number }> = []
      let scenario = ""
      for (const line of stdout.split("\n")) {
        const s = /^scenario:\s*(\S+)/.exec(line)
        if (s) scenario = s[1]!
        const m = /^(off|loopback|down)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)/.exec(line)
        if (m) rows.push({ scenario, mode: m[1]!, callsPerSecond: num(m[2]), rateRatio: num(m[3]), cpuMicrosPerCall: num(m[4]), cpuRatio: num(m[5]) })
      }
      const memory = lineWith(stdout, /spans: \d+ dropped/)
      const exporting = rows.filter((r) => r.mode === "loopback")
      return {
        // the README's target: exporting every span costs at most 3% (0.97x of off's CPU per call)
        target: exporting.length === 0 ? undefined : exporting.every((r) => r.cpuRatio >= 0.97) ? "PASS" : "FAIL",
        summary: rows.length === 0
          ? "no figures parsed (see output)"
          : `CPU ratio off/mode (1 = free): ${
            rows.filter((r) => r.mode !== "off").map((r) => `${r.scenario} ${r.mode} ${r.cpuRatio.toFixed(2)}x`).join("; ")
          }`,
        figures: { rows, memory }
      }
    }
  }
]
