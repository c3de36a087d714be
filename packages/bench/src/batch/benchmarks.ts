/**
 * The batch benchmarks. Their scripts are still in `packages/batch/bench` (the batch engineers
 * move them here); only the paths below change when they do.
 */
import { type Benchmark, lineWith, num, targetOf } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "batch-efficiency",
    title: "batch efficiency vs ideal (150 items @10, 100 ms)",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({ script: "packages/batch/bench/efficiency.ts", args: [], env: { REPEATS: quick ? "1" : "3" } }),
    parse: (stdout) => {
      const m = /best ([\d.]+) ms \(([-\d.]+)% over ideal\), median ([\d.]+) ms/.exec(stdout)
      const ideal = /ideal (\d+) ms/.exec(stdout)
      return {
        summary: m ? `best ${m[1]} ms vs ideal ${ideal?.[1] ?? "?"} ms (${m[2]}% over), median ${m[3]} ms` : lineWith(stdout, /best|wall/) ?? "see output",
        target: targetOf(stdout),
        figures: m ? { bestMillis: num(m[1]), overIdealPercent: num(m[2]), medianMillis: num(m[3]), idealMillis: num(ideal?.[1]) } : {}
      }
    }
  },
  {
    name: "batch-floor",
    title: "batch efficiency floor: bare node:http client and servers, no library code",
    timeoutMinutes: 5,
    invocation: () => ({ script: "packages/batch/bench/floor.ts", args: [] }),
    parse: (stdout) => {
      const best = (mode: string) => new RegExp(`server ${mode}\\s*:.*best ([\\d.]+) ms \\(([-\\d.]+)%\\)`).exec(stdout)
      const timer = best("timer")
      const onTime = best("on-time")
      return {
        summary: timer && onTime
          ? `best ${onTime[2]}% over ideal with a server that is never early, ${timer[2]}% with one on Node's timers (early by up to 1.5 ms)`
          : "see output",
        figures: { timerBestPercent: num(timer?.[2]), onTimeBestPercent: num(onTime?.[2]) }
      }
    }
  },
  {
    name: "batch-rate-limited",
    title: "batch under a server limit of 8",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({
      script: "packages/batch/bench/rate-limited.ts",
      args: [],
      env: quick ? { ITEMS: "80" } : {}
    }),
    parse: (stdout) => {
      const m = /wall (\d+) ms = ([\d.]+)x ideal; succeeded (\d+), failed (\d+)/.exec(stdout)
      return {
        summary: m ? `${m[2]}x ideal (${m[1]} ms), ${m[3]} succeeded, ${m[4]} failed` : lineWith(stdout, /wall/) ?? "see output",
        target: targetOf(stdout),
        figures: m ? { wallMillis: num(m[1]), vsIdeal: num(m[2]), succeeded: num(m[3]), failed: num(m[4]) } : {}
      }
    }
  },
  {
    name: "batch-faults",
    title: "batch with 20% faults, 1000 items",
    timeoutMinutes: 10,
    invocation: () => ({ script: "packages/batch/bench/faults.ts", args: [] }),
    parse: (stdout) => {
      const out = /output: (\d+) lines, (\d+) distinct ids, every line a success or a typed failure: (\w+)/.exec(stdout)
      const wall = /wall (\d+) ms; succeeded (\d+), failed (\d+)/.exec(stdout)
      return {
        summary: out
          ? `${out[1]} lines, ${out[2]} distinct, all typed: ${out[3]}${wall ? `; ${wall[2]} succeeded, ${wall[3]} failed in ${wall[1]} ms` : ""}`
          : lineWith(stdout, /output|wall/) ?? "see output",
        target: targetOf(stdout),
        figures: {
          ...(out ? { lines: num(out[1]), distinct: num(out[2]), typed: out[3] === "true" } : {}),
          ...(wall ? { wallMillis: num(wall[1]), succeeded: num(wall[2]), failed: num(wall[3]) } : {})
        }
      }
    }
  }
]
