/**
 * The examples as benchmarks: the chat server under 10,000 conversations, the coffee shop's
 * speedup against its ideal, and the optimizer's score before and after.
 */
import { type Benchmark, num } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "chat-server-load",
    title: "chat server, concurrent SSE conversations",
    long: true,
    timeoutMinutes: 30,
    invocation: ({ quick }) => ({
      script: "examples/chat-server/load.ts",
      args: quick ? ["--conversations", "200", "--words", "20", "--ttft", "50"] : ["--conversations", "10000"],
      openFiles: 65536
    }),
    parse: (stdout) => {
      const completed = /completed:\s+(\d+) \/ (\d+)/.exec(stdout)
      const rss = /server peak RSS:\s+([\d.]+ \w+)/.exec(stdout)
      const ttft = /TTFT, server:\s+p50 ([\d.]+ \w+), p99 ([\d.]+ \w+)/.exec(stdout)
      const loop = /server event loop:\s+delay p50 ([\d.]+ \w+), p99 ([\d.]+ \w+)/.exec(stdout)
      const parts = [
        completed && `${completed[1]}/${completed[2]} completed`,
        rss && `server peak RSS ${rss[1]}`,
        ttft && `server TTFT p50 ${ttft[1]}, p99 ${ttft[2]}`,
        loop && `event loop p99 ${loop[2]}`
      ].filter((p): p is string => typeof p === "string")
      return {
        summary: parts.length === 0 ? "see output" : parts.join("; "),
        target: completed ? (completed[1] === completed[2] ? "PASS" : "FAIL") : undefined,
        figures: {
          ...(completed ? { completed: num(completed[1]), conversations: num(completed[2]) } : {}),
          ...(rss ? { serverPeakRss: rss[1] } : {}),
          ...(ttft ? { serverTtftP50: ttft[1], serverTtftP99: ttft[2] } : {}),
          ...(loop ? { serverLoopDelayP50: loop[1], serverLoopDelayP99: loop[2] } : {})
        }
      }
    }
  },
  {
    name: "coffee-shop",
    title: "coffee shop: concurrent speedup against the ideal (sum / slowest)",
    timeoutMinutes: 5,
    invocation: () => ({ script: "examples/coffee-shop/main.ts", args: [] }),
    parse: (stdout) => {
      const m = /speedup ([\d.]+)x \(ideal ([\d.]+)x/.exec(stdout)
      const off = /\(([\d.]+)% off\)/.exec(stdout)
      return {
        summary: m ? `speedup ${m[1]}x vs ideal ${m[2]}x${off ? ` (${off[1]}% off)` : ""}` : "see output",
        figures: m ? { speedup: num(m[1]), ideal: num(m[2]), offPercent: num(off?.[1]) } : {}
      }
    }
  },
  {
    name: "optimize",
    title: "optimization on the scripted model (bootstrap few-shot)",
    timeoutMinutes: 10,
    invocation: () => ({ script: "examples/optimize/main.ts", args: ["bootstrap"] }),
    parse: (stdout) => {
      const before = /before: ([\d.]+)%/.exec(stdout)
      const after = /after \S+: ([\d.]+)%/.exec(stdout)
      return {
        summary: before && after ? `${before[1]}% -> ${after[1]}% on the dev set` : "see output",
        figures: before && after ? { beforePercent: num(before[1]), afterPercent: num(after[1]) } : {}
      }
    }
  }
]
