/**
 * The batch benchmarks (scripts in this folder; see packages/batch/README.md for what they show).
 */
import { type Benchmark, lineWith, num, targetOf } from "../suite/Benchmark.js"

// the medians line of efficiency.ts (the default client's, printed first): CPU per item and critical path, ours and the floor's
const perItem = (stdout: string) => {
  const m =
    /medians of runs \[[^\]]+\]: Batch\.run CPU (\d+) us\/item \(main thread (\d+|\?)\), turnaround ([\d.]+) ms, round spread ([\d.]+) ms; floor CPU (\d+) us\/item \(main thread (\d+|\?)\), turnaround ([\d.]+) ms, round spread ([\d.]+) ms/
      .exec(stdout)
  return m
    ? {
      cpuMicrosPerItem: num(m[1]),
      floorCpuMicrosPerItem: num(m[5]),
      turnaroundMillis: num(m[3]),
      floorTurnaroundMillis: num(m[7]),
      roundSpreadMillis: num(m[4]),
      floorRoundSpreadMillis: num(m[8])
    }
    : {}
}

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "batch-efficiency",
    title: "batch efficiency vs the on-time floor (150 items @10, 100 ms)",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({ script: "packages/bench/src/batch/efficiency.ts", args: [], env: { REPEATS: quick ? "2" : "5" } }),
    parse: (stdout) => {
      // the cold phase is printed first (a short batch, as it starts); the warm one after a long warm-up
      const [cold, warm] = stdout.split(/^warm \(/m)
      const m = /best: Batch\.run ([\d.]+) ms \(([-\d.]+)% over ideal\), floor ([\d.]+) ms \(([-\d.]+)%\); gap ([-\d.]+) points \(medians: ([-\d.]+) points\)/.exec(cold ?? "")
      const w = warm === undefined ? null : /best: Batch\.run [\d.]+ ms \([-\d.]+% over ideal\), floor [\d.]+ ms \([-\d.]+%\); gap ([-\d.]+) points \(medians: ([-\d.]+) points\)/.exec(warm)
      const warmPart = w ? `; warm ${w[1]} points (medians ${w[2]})` : ""
      // the Effect floor (the same work on the required building blocks alone), in each phase
      const effectFloor = (phase: string | undefined) =>
        phase === undefined ? null : /best: Effect floor [\d.]+ ms \([-\d.]+% over ideal\); gap to the floor ([-\d.]+) points \(medians: ([-\d.]+) points\)/.exec(phase)
      const e = effectFloor(cold)
      const ew = effectFloor(warm)
      const effectPart = e ? `; Effect floor ${e[1]} points over the floor cold (medians ${e[2]})${ew ? `, ${ew[1]} warm (medians ${ew[2]})` : ""}` : ""
      return {
        summary: m
          ? `cold: best ${m[2]}% over ideal, floor ${m[4]}%: ${m[5]} points over the floor (medians ${m[6]})${warmPart}${effectPart}`
          : lineWith(stdout, /best/) ?? "see output",
        target: targetOf(stdout),
        figures: m
          ? {
            bestMillis: num(m[1]),
            overIdealPercent: num(m[2]),
            floorMillis: num(m[3]),
            floorPercent: num(m[4]),
            gapPoints: num(m[5]),
            medianGapPoints: num(m[6]),
            ...perItem(cold ?? ""),
            ...(w ? { warmGapPoints: num(w[1]), warmMedianGapPoints: num(w[2]) } : {}),
            ...(e ? { effectFloorGapPoints: num(e[1]), effectFloorMedianGapPoints: num(e[2]) } : {}),
            ...(ew ? { warmEffectFloorGapPoints: num(ew[1]), warmEffectFloorMedianGapPoints: num(ew[2]) } : {})
          }
          : {}
      }
    }
  },
  {
    name: "batch-variable",
    title: "batch efficiency at 0.5-2 s latencies (150 items @10) vs the ideal of their own latencies",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({ script: "packages/bench/src/batch/variable.ts", args: [], env: { REPEATS: quick ? "1" : "2" } }),
    parse: (stdout) => {
      const m = /best ([\d.]+)% of ideal/.exec(stdout)
      return {
        summary: m ? `best ${m[1]}% of the ideal` : lineWith(stdout, /best/) ?? "see output",
        target: targetOf(stdout),
        figures: m ? { bestPercentOfIdeal: num(m[1]) } : {}
      }
    }
  },
  {
    name: "batch-floor",
    title: "batch efficiency floor: bare node:http client and servers, no library code",
    timeoutMinutes: 5,
    invocation: () => ({ script: "packages/bench/src/batch/floor.ts", args: [] }),
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
    title: "batch under a provider's limit: requests per minute, and a server serving 8 at once",
    timeoutMinutes: 10,
    invocation: ({ quick }) => ({
      script: "packages/bench/src/batch/rate-limited.ts",
      args: [],
      env: quick ? { ITEMS: "120", C_ITEMS: "80" } : {}
    }),
    parse: (stdout) => {
      const rpm = /succeeded (\d+), failed (\d+); ([\d.]+)% of the allowed requests per minute used/.exec(stdout)
      const c = /wall (\d+) ms = ([\d.]+)x ideal; succeeded (\d+), failed (\d+)/.exec(stdout)
      return {
        summary: [
          rpm ? `${rpm[3]}% of the allowed rpm used, ${rpm[2]} failed` : undefined,
          c ? `server limit 8: ${c[2]}x ideal, ${c[4]} failed` : undefined
        ].filter((x) => x !== undefined).join("; ") || (lineWith(stdout, /wall/) ?? "see output"),
        target: targetOf(stdout),
        figures: {
          ...(rpm ? { rpmUsedPercent: num(rpm[3]), rpmFailed: num(rpm[2]) } : {}),
          ...(c ? { wallMillis: num(c[1]), vsIdeal: num(c[2]), succeeded: num(c[3]), failed: num(c[4]) } : {})
        }
      }
    }
  },
  {
    name: "batch-faults",
    title: "batch with 20% faults, 1000 items",
    timeoutMinutes: 10,
    invocation: () => ({ script: "packages/bench/src/batch/faults.ts", args: [] }),
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
  },
  {
    name: "batch-overhead",
    title: "batch runner CPU per item and rate control CPU per request (instant model)",
    timeoutMinutes: 5,
    invocation: () => ({ script: "packages/bench/src/batch/overhead.ts", args: [] }),
    parse: (stdout) => {
      const m = /runner: ([-\d.]+) us per item; rate control: ([-\d.]+) us per request/.exec(stdout)
      return {
        summary: m ? `runner ${m[1]} us per item, rate control ${m[2]} us per request` : "see output",
        figures: m ? { runnerMicrosPerItem: num(m[1]), rateControlMicrosPerRequest: num(m[2]) } : {}
      }
    }
  },
  {
    name: "batch-hops",
    title: "batch item's client CPU per call, layer by layer (bare node:http, HttpClient, generateText, Predict, Batch.run)",
    timeoutMinutes: 5,
    invocation: ({ quick }) => ({ script: "packages/bench/src/batch/hops.ts", args: [], env: quick ? { CALLS: "300", ROUNDS: "2", WARMUP: "300" } : {} }),
    parse: (stdout) => {
      const row = (name: string) => new RegExp(`^  ${name.replace(/[().:]/g, "\\$&")}\\s+(\\d+) us`, "m").exec(stdout)?.[1]
      const names = { bare: "node:http bare", httpClient: "HttpClient (undici)", generateText: "generateText", predict: "Predict", batch: "Batch.run" }
      const figures = Object.fromEntries(Object.entries(names).map(([key, name]) => [`${key}Micros`, num(row(name))]))
      return {
        summary: Object.values(figures).every(Number.isFinite)
          ? `us per call: bare ${figures["bareMicros"]}, HttpClient ${figures["httpClientMicros"]}, generateText ${figures["generateTextMicros"]}, ` +
            `Predict ${figures["predictMicros"]}, Batch.run ${figures["batchMicros"]}`
          : "see output",
        figures
      }
    }
  }
]
