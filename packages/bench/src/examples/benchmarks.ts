/**
 * The examples as benchmarks: the chat server with 10,000 open conversations, the coffee shop's
 * speedup against its ideal, and the optimizer's score before and after.
 */
import { type Benchmark, num } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "chat-server-load",
    title: "chat server: conversations with open event streams, some streaming, against a bare node:http floor and an Effect floor",
    long: true,
    timeoutMinutes: 30,
    invocation: ({ quick }) => ({
      script: "examples/chat-server/load.ts",
      args: quick
        ? ["--conversations", "200", "--streaming", "20", "--words", "20", "--seconds", "10", "--warmup-seconds", "2"]
        : ["--conversations", "10000"],
      raiseOpenFiles: true
    }),
    parse: (stdout) => {
      // load.ts reports each server (ours, the Effect floor, the bare floor) under its own
      // heading, after the progress lines that also name it, then the ratios between them
      const section = (heading: string) => {
        const at = stdout.lastIndexOf(`\n${heading}`)
        if (at < 0) return ""
        const next = stdout.indexOf("\n\n", at + 1)
        return stdout.slice(at, next < 0 ? undefined : next)
      }
      const ours = section("chat server (effect-dspy)")
      const perToken = (text: string) => /server CPU:\s+[\d.]+ ms in the window, ([\d.]+) µs per token/.exec(text)?.[1]
      const open = /open event streams:\s+reached (\d+); during the window (\d+)\.\.(\d+)/.exec(ours)
      const rss = /server RSS:\s+([\d.]+ MiB) with the conversations open/.exec(ours)
      const idle = /idle conversation:\s+([\d.]+ KiB)/.exec(ours)
      const ttft = /TTFT added, server:\s+p50 (-?[\d.]+ ms), p99 (-?[\d.]+ ms)/.exec(ours)
      const cpu = perToken(ours)
      const effectFloor = perToken(section("Effect floor ("))
      const floor = perToken(section("floor (floor.ts"))
      const ratio = /CPU per token, ours \/ bare floor \(target at most 2x\): ([\d.]+)x/.exec(stdout)?.[1]
      const effectRatio = /CPU per token, Effect floor \/ bare floor[^:]*: ([\d.]+)x/.exec(stdout)?.[1]
      const parts = [
        open && `${open[1]} streams open (window ${open[2]}..${open[3]})`,
        rss && `server RSS ${rss[1]}`,
        idle && `${idle[1]} per idle conversation`,
        cpu && `${cpu} µs/token` + (floor ? ` vs floor ${floor} (${ratio}x)` : "") +
          (effectFloor ? `, Effect floor ${effectFloor} (${effectRatio}x the floor)` : ""),
        ttft && `added TTFT p99 ${ttft[2]}`
      ].filter((p): p is string => typeof p === "string")
      return {
        summary: parts.length === 0 ? "see output" : parts.join("; "),
        target: ratio ? (Number(ratio) <= 2 ? "PASS" : "FAIL") : undefined,
        figures: {
          ...(open ? { openStreams: num(open[1]), minOpenInWindow: num(open[2]) } : {}),
          ...(rss ? { serverRssOpen: rss[1] } : {}),
          ...(idle ? { perIdleConversation: idle[1] } : {}),
          ...(cpu ? { cpuMicrosPerToken: num(cpu) } : {}),
          ...(floor ? { floorCpuMicrosPerToken: num(floor) } : {}),
          ...(effectFloor ? { effectFloorCpuMicrosPerToken: num(effectFloor) } : {}),
          ...(ratio ? { cpuRatioToFloor: num(ratio) } : {}),
          ...(effectRatio ? { effectFloorRatioToFloor: num(effectRatio) } : {}),
          ...(ttft ? { serverAddedTtftP50: ttft[1], serverAddedTtftP99: ttft[2] } : {})
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
