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
import * as os from "node:os"

/** The HTTP clients a model can run on: the providers' default (undici), or the platform's `node:http` client. */
export type HttpClientName = "undici" | "node"

/**
 * The HTTP client under the model: `HTTP_CLIENT=node` runs it on the platform's `node:http`
 * client (a keep-alive agent) instead of the providers' default (undici), to compare the two
 * stacks on the same workload (see `bunching.ts` for why they differ at a fixed latency);
 * `HTTP_CLIENT=both` (where a script supports it) runs both, interleaved.
 */
export const httpClientNames: ReadonlyArray<HttpClientName> = process.env["HTTP_CLIENT"] === "both"
  ? ["undici", "node"]
  : process.env["HTTP_CLIENT"] === "node"
  ? ["node"]
  : ["undici"]

const httpClient = (name: HttpClientName): Layer.Layer<HttpClient.HttpClient> | undefined =>
  name === "node"
    ? Layer.provide(NodeHttpClient.layerWithoutAgent, NodeHttpClient.makeAgentLayer({ keepAlive: true }))
    : undefined

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

/** The process's CPU time (user + system) spent by `effect`, in ms, with its value. */
export const withCpu = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const before = process.cpuUsage()
    return Effect.map(effect, (value) => {
      const used = process.cpuUsage(before)
      return { value, cpuMillis: (used.user + used.system) / 1000 }
    })
  })
