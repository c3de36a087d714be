/**
 * The calls the provider tests make, through `Lm.layer` with a retry policy (the path users
 * take), and reading a failure back as its `LmError`.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { Cause, Chunk, Clock, Effect, Exit, Option, Stream } from "effect"
import type * as Layer from "effect/Layer"
import * as LmError from "../../src/LmError.js"
import type * as Resilience from "../../src/Resilience.js"
import { drive } from "./replay.js"

/** Two retries, 1 s then 2 s, no jitter, no timeout (the tests' sockets are real; time is not). */
export const policy: Resilience.Policy = { maxRetries: 2, baseDelay: "1 second", factor: 2, jitter: false, timeout: undefined }

type Model = Layer.Layer<LanguageModel.LanguageModel, unknown>

/** `generateText` driven on `TestClock`; its exit. */
export const generate = (model: Model, prompt = "What is 2 + 2?") =>
  Effect.exit(drive(Effect.scoped(LanguageModel.generateText({ prompt }).pipe(Effect.provide(model)))))

/** `streamText` collected, driven on `TestClock`; its exit. */
export const stream = (model: Model, prompt = "What is 2 + 2?") =>
  Effect.exit(drive(Effect.scoped(
    Stream.runCollect(LanguageModel.streamText({ prompt })).pipe(Effect.map(Chunk.toArray), Effect.provide(model))
  )))

/** The classified failure of an exit (fails the test when it succeeded). */
export const failureOf = <A>(exit: Exit.Exit<A, unknown>): LmError.LmError => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value).slice(0, 300)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a failure, got ${Cause.pretty(exit.cause)}`)
  return LmError.classify(failure.value)
}

/** The value of an exit (fails the test with the cause when it failed). */
export const valueOf = <A>(exit: Exit.Exit<A, unknown>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected a success, got ${Cause.pretty(exit.cause)}`)
  return exit.value
}

/** The text of streamed parts. */
export const textOf = (parts: ReadonlyArray<Response.AnyPart>): string =>
  parts.map((p) => (p.type === "text-delta" ? p.delta : "")).join("")

/** The reasoning of streamed parts. */
export const reasoningOf = (parts: ReadonlyArray<Response.AnyPart>): string =>
  parts.map((p) => (p.type === "reasoning-delta" ? p.delta : "")).join("")

/** How much `TestClock` time a successful `generateText` took (its retries' waits included). */
export const elapsed = (model: Model) =>
  Effect.exit(drive(Effect.scoped(Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    yield* LanguageModel.generateText({ prompt: "What is 2 + 2?" })
    return (yield* Clock.currentTimeMillis) - start
  }).pipe(Effect.provide(model)))))
