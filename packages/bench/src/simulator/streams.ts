/**
 * The simulator server under a streaming conversation load: `--streams` concurrent streamed chat
 * completions (their starts spread over `--ramp-ms`, at most `--max-pending` awaiting their
 * headers), each `--words` tokens paced at `--tps` tokens per second after `--ttft` ms, against the server in a child process. Prints what
 * the server spent (CPU per stream and per token, heap per open stream at the peak) and how late
 * the tokens came as the client saw them (first token and last token against their due times).
 * Prints figures; asserts nothing.
 *
 *   node --expose-gc --import tsx packages/bench/src/simulator/streams.ts [--streams 2000] [--words 50] [--tps 20]
 *     [--ttft 200] [--ramp-ms 2000] [--max-pending 1000] [--server-cpu-prof DIR]
 *
 * `--server-cpu-prof DIR` writes the server process's V8 CPU profile into DIR (Node's `--cpu-prof`;
 * open it in Chrome DevTools or speedscope) to see where the server's CPU per stream goes.
 */
import * as Http from "node:http"
import * as Os from "node:os"
import { parseArgs } from "node:util"
import { quantile, runHeader, startSimulator } from "../harness/measure.js"

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "2000" },
    tps: { type: "string", default: "20" },
    ttft: { type: "string", default: "200" },
    words: { type: "string", default: "50" },
    "ramp-ms": { type: "string", default: "2000" },
    "max-pending": { type: "string", default: "1000" },
    "server-cpu-prof": { type: "string" }
  }
})
const STREAMS = Number(values.streams)
const TPS = Number(values.tps)
const TTFT = Number(values.ttft)
const WORDS = Number(values.words)
const RAMP_MILLIS = Number(values["ramp-ms"])
const MAX_PENDING = Number(values["max-pending"])

interface Outcome {
  readonly ok: boolean
  /** ms from the request's start to its first content delta, minus the TTFT */
  readonly firstLate: number
  /** ms from the request's start to its end, minus when its last delta was due */
  readonly lastLate: number
  readonly deltas: number
}

const body = JSON.stringify({
  model: "sim-1",
  stream: true,
  messages: [{ role: "user", content: "Tell me a long story about coffee, tea and the people who brew them" }]
})

const open = (port: number, agent: Http.Agent, headersIn: () => void): Promise<Outcome> =>
  new Promise((resolve) => {
    const start = performance.now()
    let first = NaN
    let deltas = 0
    let buffer = ""
    const request = Http.request({
      host: "127.0.0.1",
      port,
      path: "/v1/chat/completions",
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      headersIn()
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        buffer += chunk
        const frames = buffer.split("\n\n")
        buffer = frames.pop() ?? ""
        for (const frame of frames) {
          if (!frame.includes("\"delta\":{\"content\":")) continue
          if (deltas++ === 0) first = performance.now()
        }
      })
      response.on("end", () => {
        const end = performance.now()
        resolve({
          ok: response.statusCode === 200 && deltas > 0,
          firstLate: first - start - TTFT,
          lastLate: end - start - TTFT - (Math.max(0, deltas - 1) * 1000) / TPS,
          deltas
        })
      })
    })
    request.on("error", () => {
      headersIn()
      resolve({ ok: false, firstLate: NaN, lastLate: NaN, deltas: 0 })
    })
    request.end(body)
  })

const main = async () => {
  console.log(runHeader())
  const profile = values["server-cpu-prof"]
  const sim = await startSimulator(
    { tokensPerSecond: TPS, timeToFirstTokenMillis: TTFT, answerWords: WORDS },
    ["--expose-gc", ...(profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profile])]
  )
  const port = Number(new URL(sim.url).port)
  const agent = new Http.Agent({ keepAlive: false, maxSockets: Infinity })
  try {
    console.log(
      `${STREAMS} streams of ${WORDS} tokens at ${TPS} tokens/s after ${TTFT} ms, started over ${RAMP_MILLIS} ms (node ${process.version}, ${Os.cpus().length} cpu(s), ` +
        `load average ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")})`
    )
    // warm-up
    await Promise.all(Array.from({ length: 50 }, () => open(port, agent, () => {})))
    const before = await sim.stats()
    const started = performance.now()
    let pending = 0
    let waiting: Array<() => void> = []
    const release = () => {
      pending--
      const next = waiting
      waiting = []
      for (const go of next) go()
    }
    let peakHeap = before.heapUsedBytes
    let peakOpen = 0
    let opened = 0
    const sampler = setInterval(async () => {
      if (opened <= peakOpen) return
      const stats = await sim.stats()
      if (opened > peakOpen) {
        peakOpen = opened
        peakHeap = stats.heapUsedBytes
      }
    }, 1000)
    const outcomes = await Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
      const at = started + (RAMP_MILLIS * i) / STREAMS
      if (at > performance.now()) await new Promise((go) => setTimeout(go, at - performance.now()))
      while (pending >= MAX_PENDING) await new Promise<void>((go) => waiting.push(go))
      pending++
      opened++
      const outcome = await open(port, agent, release)
      opened--
      return outcome
    }))
    clearInterval(sampler)
    const wall = performance.now() - started
    const after = await sim.stats()
    const ok = outcomes.filter((o) => o.ok)
    const tokens = ok.reduce((n, o) => n + o.deltas, 0)
    const cpu = after.cpuMicros - before.cpuMicros
    const ms = (x: number) => `${x.toFixed(1)} ms`
    console.log(`completed: ${ok.length} / ${STREAMS} in ${(wall / 1000).toFixed(1)} s`)
    console.log(
      `server CPU: ${(cpu / 1000).toFixed(0)} ms, ${(cpu / STREAMS).toFixed(0)} µs per stream, ${(cpu / Math.max(1, tokens)).toFixed(1)} µs per token`
    )
    console.log(
      `server heap: ${(before.heapUsedBytes / 2 ** 20).toFixed(0)} MiB -> ${(peakHeap / 2 ** 20).toFixed(0)} MiB with ${peakOpen} open ` +
        `(${peakOpen === 0 ? "?" : ((peakHeap - before.heapUsedBytes) / 1024 / peakOpen).toFixed(1)} KiB per open stream)`
    )
    console.log(
      `first token late: p50 ${ms(quantile(ok.map((o) => o.firstLate), 0.5))}, p99 ${ms(quantile(ok.map((o) => o.firstLate), 0.99))}; ` +
        `last token late: p50 ${ms(quantile(ok.map((o) => o.lastLate), 0.5))}, p99 ${ms(quantile(ok.map((o) => o.lastLate), 0.99))}`
    )
  } finally {
    agent.destroy()
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
