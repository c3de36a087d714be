/**
 * What the batch benchmarks share: the providers' `openai-compatible` model over the library's
 * HTTP client (through `Lm.layer`, as users build it) with a `RateControl` as its limiter, the
 * machine line printed with each figure, and questions.
 */
import { RateControl } from "@effect-dspy/batch"
import { Lm, type Resilience } from "@effect-dspy/providers"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { PerformanceObserver } from "node:perf_hooks"
import * as Undici from "undici"

/**
 * The HTTP clients a model can run on: the providers' default (the platform's undici client on
 * undici's default `Agent`, which opens a connection whenever none is free), `undici-pool` (an
 * undici `Agent` holding at most `POOL` connections per origin, default 10: the benchmarks'
 * concurrency), or the platform's `node:http` client on a keep-alive agent.
 */
export type HttpClientName = "undici" | "undici-pool" | "node"

const clientNames: ReadonlyArray<HttpClientName> = ["undici", "undici-pool", "node"]

/**
 * The HTTP clients under the model: `HTTP_CLIENT=node` runs it on the platform's `node:http`
 * client instead of the providers' default (undici), to compare the stacks on the same workload
 * (see `bunching.ts` for why they differ at a fixed latency); `HTTP_CLIENT=undici-pool` on an
 * undici `Agent` with a bounded pool; a comma-separated list (or `both`: undici and node) runs
 * several, interleaved, where a script supports it.
 */
export const httpClientNames: ReadonlyArray<HttpClientName> = (() => {
  const wanted = process.env["HTTP_CLIENT"] ?? "undici"
  const names = (wanted === "both" ? "undici,node" : wanted).split(",").map((name) => name.trim())
  const unknown = names.filter((name) => !clientNames.includes(name as HttpClientName))
  if (unknown.length > 0) throw new Error(`HTTP_CLIENT: unknown client(s) ${unknown.join(", ")}; known: ${clientNames.join(", ")}, both`)
  return names as ReadonlyArray<HttpClientName>
})()

const POOL = Number(process.env["POOL"] ?? 10)

const httpClient = (name: HttpClientName): Layer.Layer<HttpClient.HttpClient> | undefined => {
  switch (name) {
    case "undici":
      return undefined
    case "undici-pool":
      return Layer.provide(
        NodeHttpClient.layerUndiciWithoutDispatcher,
        Layer.scoped(
          NodeHttpClient.Dispatcher,
          Effect.acquireRelease(
            Effect.sync(() => new Undici.Agent({ connections: POOL, pipelining: 1 })),
            (agent) => Effect.promise(() => agent.destroy())
          )
        )
      )
    case "node":
      return Layer.provide(NodeHttpClient.layerWithoutAgent, NodeHttpClient.makeAgentLayer({ keepAlive: true }))
  }
}

/** The model layer on `base` (a server's base URL), and its rate control, in the current scope. */
export const model = (base: string, rate: RateControl.Options, retry?: Resilience.Policy, client: HttpClientName = httpClientNames[0]!) =>
  Effect.gen(function*() {
    const limiter = yield* RateControl.make(rate)
    const http = httpClient(client)
    const layer = Lm.layer("openai-compatible/sim-1", {
      baseUrl: `${base}/v1`,
      limiter,
      ...(retry === undefined ? {} : { retry }),
      ...(http === undefined ? {} : { httpClient: http })
    })
    const context = yield* Layer.build(Layer.merge(layer, Layer.succeed(RateControl.RateControl, limiter)))
    return { limiter, context }
  })

/** One line describing the machine, for the record. */
export const machine = () =>
  `HTTP client ${httpClientNames.join(" and ")}, node ${process.version}, ${os.cpus().length} cpu(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`

/** `n` distinct questions. */
export const questions = (n: number, tag = "") =>
  Array.from({ length: n }, (_, i) => ({ question: `Question ${tag}${i}: what is ${i} plus ${i * 7 % 13}?` }))

/** Percent over a reference. */
export const over = (wall: number, ideal: number) => `${((wall / ideal - 1) * 100).toFixed(2)}%`

export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * CPU time (user + system, ms) of this process's main thread and of its other threads (V8's
 * concurrent GC markers and compilers, libuv's pool), from /proc on Linux (10 ms ticks);
 * `undefined` elsewhere. Node 20 has no per-thread `process.threadCpuUsage`.
 */
const threadCpu = (): { readonly main: number; readonly others: number } | undefined => {
  try {
    const tick = 10 // USER_HZ is 100 on Linux
    let main = 0
    let others = 0
    for (const tid of fs.readdirSync("/proc/self/task")) {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      // the fields after the command name (in parentheses, which may hold spaces)
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      const millis = (Number(fields[11]) + Number(fields[12])) * tick
      if (Number(tid) === process.pid) main += millis
      else others += millis
    }
    return { main, others }
  } catch {
    return undefined
  }
}

// garbage collection pauses on the main thread, in ms, and the full (mark-compact) collections,
// since the process started
let gcPauseMillis = 0
let gcMajor = 0
let gcObserved = false
const observeGc = () => {
  if (gcObserved) return
  gcObserved = true
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcPauseMillis += entry.duration
      // (perf_hooks' NODE_PERFORMANCE_GC_MAJOR)
      const kind: unknown = (entry as { readonly detail?: { readonly kind?: unknown } }).detail?.kind
      if (kind === 4) gcMajor++
    }
  }).observe({ entryTypes: ["gc"] })
}

/**
 * The process's CPU time (user + system) spent by `effect`, in ms, with its value: in all, on
 * the main thread and on the other threads (`undefined` where /proc is missing), and the
 * garbage collector's pauses on the main thread and its full collections.
 */
export const withCpu = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    observeGc()
    const before = process.cpuUsage()
    const threadsBefore = threadCpu()
    const gcBefore = gcPauseMillis
    const majorBefore = gcMajor
    return Effect.flatMap(effect, (value) =>
      // (observer entries are delivered on a later turn)
      Effect.map(Effect.promise(() => new Promise((resolve) => setImmediate(resolve))), () => {
        const used = process.cpuUsage(before)
        const threads = threadCpu()
        return {
          value,
          cpuMillis: (used.user + used.system) / 1000,
          mainMillis: threads && threadsBefore ? threads.main - threadsBefore.main : undefined,
          otherThreadsMillis: threads && threadsBefore ? threads.others - threadsBefore.others : undefined,
          gcPauseMillis: gcPauseMillis - gcBefore,
          gcMajor: gcMajor - majorBefore
        }
      }))
  })
