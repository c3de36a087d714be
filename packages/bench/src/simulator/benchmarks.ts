/**
 * The simulator benchmarks: its server under a streaming conversation load, and its
 * throughput of whole replies.
 */
import { type Benchmark, num } from "../suite/Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "simulator-streams",
    title: "simulator server under concurrent paced streams",
    timeoutMinutes: 15,
    invocation: ({ quick }) => ({
      script: "packages/bench/src/simulator/streams.ts",
      args: quick ? ["--streams", "300"] : ["--streams", "2000"],
      nodeFlags: ["--expose-gc"],
      raiseOpenFiles: true
    }),
    parse: (stdout) => {
      const completed = /completed: (\d+) \/ (\d+)/.exec(stdout)
      const cpu = /server CPU: \d+ ms, (\d+) µs per stream, ([\d.]+) µs per token/.exec(stdout)
      const heap = /\(([\d.?]+) KiB per open stream\)/.exec(stdout)
      const late = /first token late: p50 ([\d.]+) ms, p99 ([\d.]+) ms/.exec(stdout)
      const parts = [
        completed && `${completed[1]}/${completed[2]} completed`,
        cpu && `server ${cpu[1]} µs CPU per stream (${cpu[2]} per token)`,
        heap && `${heap[1]} KiB heap per open stream`,
        late && `first token late p50 ${late[1]} ms, p99 ${late[2]} ms`
      ].filter((p): p is string => typeof p === "string")
      return {
        summary: parts.length === 0 ? "see output" : parts.join("; "),
        figures: {
          ...(completed ? { completed: num(completed[1]), streams: num(completed[2]) } : {}),
          ...(cpu ? { serverCpuMicrosPerStream: num(cpu[1]), serverCpuMicrosPerToken: num(cpu[2]) } : {}),
          ...(heap ? { heapKiBPerStream: num(heap[1]) } : {}),
          ...(late ? { firstTokenLateP50Millis: num(late[1]), firstTokenLateP99Millis: num(late[2]) } : {})
        }
      }
    }
  },
  {
    name: "simulator-throughput",
    title: "simulator server throughput (zero latency)",
    timeoutMinutes: 5,
    invocation: ({ quick }) => ({ script: "packages/bench/src/simulator/throughput.ts", args: quick ? ["300", "16"] : ["3000", "64"] }),
    parse: (stdout) => {
      const rows = [
        ...stdout.matchAll(
          /^(json|stream)\s+(\d+) calls, concurrency (\d+): ([\d.]+) s, (\d+) req\/s, failures (\d+)(?:; server CPU (\d+) µs\/request)?/gm
        )
      ].map((m) => ({
        kind: m[1]!,
        calls: num(m[2]),
        seconds: num(m[4]),
        requestsPerSecond: num(m[5]),
        failures: num(m[6]),
        serverCpuMicrosPerRequest: num(m[7])
      }))
      // the first json line is the warm-up
      const measured = rows.filter((r, i) => !(r.kind === "json" && i === 0))
      return {
        summary: measured.length === 0
          ? "see output"
          : measured.map((r) => `${r.kind} ${r.requestsPerSecond} req/s, server ${r.serverCpuMicrosPerRequest} µs CPU per request (${r.failures} failures)`)
            .join("; "),
        figures: { rows }
      }
    }
  }
]
