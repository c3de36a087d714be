/**
 * The in-process model: `LanguageModel.make` over a simulator instance. A call is admitted (or
 * fails as an HTTP provider would), answered, and its reply plan written as `@effect/ai` parts,
 * whole after its latency or streamed on the clock.
 */
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { Engine, type Ticket } from "../engine/Engine.js"
import { events } from "../plan/events.js"
import * as Pacing from "../plan/pacing.js"
import type { ReplyPlan } from "../plan/ReplyPlan.js"
import { connectionReset, inBandError, responseError } from "./errors.js"
import * as Parts from "./parts.js"
import type { Config } from "../../Simulator.js"
import { makeReader } from "./request.js"

/** An admitted call, answered. */
interface Admitted {
  readonly ticket: Ticket
  readonly plan: ReplyPlan
  readonly startMillis: number
}

/** Makes the `LanguageModel` of an instance; `settings` reads each call's sampling settings. */
export const make = (engine: Engine, settings: Effect.Effect<Config.Service>): Effect.Effect<LanguageModel.Service> => {
  const read = makeReader()

  /** Admits a call and answers it, or fails like an HTTP provider would. */
  const admit = (options: LanguageModel.ProviderOptions, method: string): Effect.Effect<Admitted, AiError.AiError> =>
    Effect.gen(function*() {
      const request = yield* read(options, yield* settings, method)
      engine.tally.request("in-process")
      const startMillis = yield* Clock.currentTimeMillis
      const admission = engine.admit(startMillis)
      switch (admission._tag) {
        case "RateLimited": {
          const ms = admission.retryAfterMillis
          return yield* responseError(method, 429, {
            "retry-after": String(Math.ceil(ms / 1000)),
            "retry-after-ms": String(ms)
          }, `Rate limit reached (${admission.reason}); retry after ${ms} ms`)
        }
        case "ServerError":
          return yield* responseError(method, admission.status, {}, "The server had an error (simulated)")
        case "Reset":
          return yield* connectionReset(method)
        case "Admitted":
          break
      }
      const ticket = admission.ticket
      const outcome = engine.answer(request, ticket, startMillis)
      if (outcome._tag === "Fail") {
        engine.release(ticket, "failed")
        return yield* responseError(method, outcome.status, {}, outcome.message)
      }
      return { ticket, plan: outcome.plan, startMillis }
    })

  const generateText = (options: LanguageModel.ProviderOptions) =>
    Effect.acquireUseRelease(
      admit(options, "generateText"),
      ({ plan, startMillis, ticket }) =>
        Effect.zipRight(
          Pacing.sleepUntil(startMillis + Pacing.wholeMillis(engine.timing(ticket), plan.usage.outputTokens)),
          // a whole reply has no error part: an in-band error fails the call as Messages does
          plan.ending._tag === "Failed"
            ? Effect.fail(inBandError("generateText", plan.ending.error))
            : Effect.map(Clock.currentTimeMillis, (now) => Parts.whole(plan, now))
        ),
      ({ plan, ticket }, exit) =>
        Effect.sync(() =>
          engine.release(
            ticket,
            Exit.isInterrupted(exit)
              ? "aborted"
              : plan.ending._tag === "Failed"
              ? "inBandError"
              : Exit.isSuccess(exit)
              ? "completed"
              : "failed"
          )
        )
    )

  const streamText = (options: LanguageModel.ProviderOptions): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      let finished = false
      const { plan, startMillis, ticket } = yield* Effect.acquireRelease(
        admit(options, "streamText"),
        ({ plan, ticket }) => Effect.sync(() => engine.release(ticket, finished ? Engine.delivered(plan) : "aborted"))
      )
      const encode = Parts.encoder(plan, startMillis)
      return Pacing.paced(
        events(plan),
        engine.timing(ticket),
        startMillis,
        (due) => Chunk.unsafeFromArray(due.flatMap(encode)),
        () => {
          finished = true
        }
      )
    }))

  return LanguageModel.make({ generateText, streamText })
}
