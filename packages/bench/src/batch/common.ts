/**
 * What the batch benchmarks share: the providers' `openai-compatible` model over the library's
 * HTTP client (through `Lm.layer`, as users build it) with a `RateControl` as its limiter, the
 * machine line printed with each figure, and questions.
 */
import { RateControl } from "@effect-dspy/batch"
import { Lm, type Resilience } from "@effect-dspy/providers"
import { Effect, Layer } from "effect"
import * as os from "node:os"

/** The model layer on `base` (a server's base URL), and its rate control, in the current scope. */
export const model = (base: string, rate: RateControl.Options, retry?: Resilience.Policy) =>
  Effect.gen(function*() {
    const limiter = yield* RateControl.make(rate)
    const layer = Lm.layer("openai-compatible/sim-1", {
      baseUrl: `${base}/v1`,
      limiter,
      ...(retry === undefined ? {} : { retry })
    })
    const context = yield* Layer.build(Layer.merge(layer, Layer.succeed(RateControl.RateControl, limiter)))
    return { limiter, context }
  })

/** One line describing the machine, for the record. */
export const machine = () =>
  `node ${process.version}, ${os.cpus().length} cpu(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`

/** `n` distinct questions. */
export const questions = (n: number, tag = "") =>
  Array.from({ length: n }, (_, i) => ({ question: `Question ${tag}${i}: what is ${i} plus ${i * 7 % 13}?` }))

/** Percent over a reference. */
export const over = (wall: number, ideal: number) => `${((wall / ideal - 1) * 100).toFixed(2)}%`

export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
