/**
 * The providers benchmark: what the provider costs the client per call, next to a bare fetch.
 */
import { type Benchmark, overheadRows, overheadSummary } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "provider-overhead",
    title: "provider client CPU per call vs a bare fetch",
    timeoutMinutes: 15,
    invocation: ({ quick }) => ({
      script: "packages/bench/src/providers/provider-overhead.ts",
      args: [...(quick ? ["--calls", "300", "--rounds", "1"] : ["--calls", "3000", "--rounds", "3"]), "--concurrency", "64"]
    }),
    parse: (stdout) => {
      const rows = overheadRows(stdout)
      return { summary: overheadSummary(rows), figures: { rows } }
    }
  }
]
