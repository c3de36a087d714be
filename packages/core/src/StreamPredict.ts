/**
 * Streaming any module: a `Stream` of token deltas, per-output-field deltas, and the final
 * decoded prediction as the last element.
 *
 * The module runs exactly as a normal call (same input check, spans, `module.*` and `lm.*`
 * events, usage, re-asks, `OutputParseError`); only its LM calls are made with
 * `LanguageModel.streamText`, and what they stream is forwarded as it arrives. Each stream has
 * its own buffer and readers: concurrent streams of one module share nothing. Ending the
 * stream early or interrupting it interrupts the module and its upstream request at once.
 *
 * With the JSON adapter, a streamed call asks for the JSON object in the prompt only:
 * `@effect/ai` streams text, without the structured-output `response_format`.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Adapter from "./Adapter.js"
import * as ChatAdapter from "./ChatAdapter.js"
import type { InvalidInput } from "./DspyError.js"
import { isHitPart } from "./internal/cacheMarker.js"
import * as FirstChunk from "./internal/firstChunk.js"
import type * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import type * as Prediction from "./Prediction.js"
import * as Signature from "./Signature.js"

/**
 * A piece of the raw text of an LM call, as the model streamed it.
 *
 * @since 0.1.0
 */
export interface TokenDelta {
  readonly _tag: "TokenDelta"
  /** Which LM call of this stream (1, 2, … : a re-ask or a multi-step module makes several). */
  readonly call: number
  /** The signature the call answers. */
  readonly signature: string
  readonly delta: string
}

/**
 * A piece of one output field, emitted once the field's marker (chat adapter) or its key
 * (JSON adapter) has been read. Chat adapter: the deltas of a field join into its trimmed
 * section text. JSON adapter: into the decoded string, or the JSON text of other values.
 *
 * @since 0.1.0
 */
export interface FieldDelta {
  readonly _tag: "FieldDelta"
  readonly call: number
  readonly signature: string
  readonly field: string
  readonly delta: string
}

/**
 * The decoded prediction, with usage and trace: always the last element of a stream.
 *
 * @since 0.1.0
 */
export interface Final<O> {
  readonly _tag: "Final"
  readonly prediction: Prediction.Prediction<O>
}

/**
 * What a streamed module emits.
 *
 * @since 0.1.0
 */
export type StreamEvent<O> = TokenDelta | FieldDelta | Final<O>

/**
 * Options of `stream`.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * A semaphore whose permit is held from the start of the stream until its last element,
   * failure or interruption (see `withPermit`).
   */
  readonly semaphore?: Effect.Semaphore | undefined
  /** Events buffered ahead of a slow consumer before the model's stream is paused (default 64). */
  readonly bufferSize?: number | undefined
  /**
   * The adapter to use instead of the one in context (`Adapter.CurrentAdapter`). Cheaper than
   * `Stream.provideService` on the stream, which runs on every pull.
   */
  readonly adapter?: Adapter.Adapter | undefined
}

/**
 * Tells whether an event is the final prediction.
 *
 * @since 0.1.0
 */
export const isFinal = <O>(event: StreamEvent<O>): event is Final<O> => event._tag === "Final"

/**
 * Tells whether an event is a token delta.
 *
 * @since 0.1.0
 */
export const isTokenDelta = <O>(event: StreamEvent<O>): event is TokenDelta => event._tag === "TokenDelta"

/**
 * Tells whether an event is a field delta.
 *
 * @since 0.1.0
 */
export const isFieldDelta = <O>(event: StreamEvent<O>): event is FieldDelta => event._tag === "FieldDelta"

interface Sink {
  readonly nextCall: () => number
  readonly offer: (events: ReadonlyArray<TokenDelta | FieldDelta>) => Effect.Effect<unknown>
}

/**
 * The adapter in force, with `generate` made by streaming: every text delta is forwarded to
 * the sink (with the field deltas it completes) while the reply is assembled as usual, and the
 * first chunk marks the LM call's span with the time to first chunk.
 */
const streaming = (inner: Adapter.Adapter, sink: Sink): Adapter.Adapter => ({
  name: inner.name,
  format: inner.format,
  formatOutputs: inner.formatOutputs,
  parse: inner.parse,
  streamParser: inner.streamParser,
  // A re-ask through the fallback streams too (made when asked for: fallbacks may form a cycle).
  get fallback() {
    return inner.fallback === undefined ? undefined : streaming(inner.fallback, sink)
  },
  generate: (signature, prompt) =>
    Effect.gen(function*() {
      const firstChunk = yield* FirstChunk.tracker
      const call = sink.nextCall()
      const reader = inner.streamParser(signature)
      const name = signature.name
      const fieldEvents = (chunks: ReadonlyArray<Adapter.FieldChunk>, out: Array<TokenDelta | FieldDelta>) => {
        for (const c of chunks) out.push({ _tag: "FieldDelta", call, signature: name, field: c.field, delta: c.delta })
      }
      let text = ""
      let usage: Adapter.Reply["usage"] = {}
      let finishReason = "unknown"
      let cached = false
      yield* Stream.runForEachChunk(LanguageModel.streamText({ prompt }), (chunk) => {
        if (chunk.length > 0) firstChunk()
        const out: Array<TokenDelta | FieldDelta> = []
        for (const part of chunk) {
          if (part.type === "text-delta") {
            if (part.delta.length === 0) continue
            text += part.delta
            out.push({ _tag: "TokenDelta", call, signature: name, delta: part.delta })
            fieldEvents(reader.push(part.delta), out)
          } else if (part.type === "finish") {
            usage = part.usage
            finishReason = part.reason
            cached = isHitPart(part)
          }
        }
        return out.length === 0 ? Effect.void : sink.offer(out)
      })
      const rest: Array<TokenDelta | FieldDelta> = []
      fieldEvents(reader.end(), rest)
      if (rest.length > 0) yield* sink.offer(rest)
      return { text, usage, finishReason, cached }
    })
})

/** Holds `permits` of the semaphore until the scope closes; waiting for them stays interruptible. */
const acquire = (semaphore: Effect.Semaphore, permits: number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(semaphore.take(permits)), (taken) => Effect.addFinalizer(() => semaphore.release(taken)))
  )

/**
 * Runs a stream holding a permit of the semaphore from its start until its last element,
 * failure or interruption. Wrapping the effect that *builds* a stream (as a limiter around
 * an HTTP call that returns at the response headers does) would free the slot while tokens
 * are still flowing; this keeps it for the whole stream.
 *
 * @example
 * ```ts
 * import { Predict, Signature, StreamPredict } from "@effect-dspy/core"
 * import { Effect, Stream } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const program = Effect.gen(function*() {
 *   const slots = yield* Effect.makeSemaphore(2)
 *   const questions = ["a?", "b?", "c?", "d?", "e?"]
 *   // five streams, never more than two open at once
 *   yield* Effect.forEach(questions, (question) =>
 *     StreamPredict.stream(qa, { question }).pipe(StreamPredict.withPermit(slots), Stream.runDrain),
 *     { concurrency: "unbounded" })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const withPermit = (semaphore: Effect.Semaphore, permits = 1) =>
<A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrapScoped(Effect.as(acquire(semaphore, permits), self))

const startModule = <I, O, E, R>(
  module: Module.Module<I, O, E, R>,
  input: I,
  options: Options | undefined
): Effect.Effect<Stream.Stream<StreamEvent<O>, E>, E | InvalidInput, R | LanguageModel.LanguageModel | Scope.Scope> =>
  Effect.gen(function*() {
    // Bad input fails before any permit, fiber or call.
    if (module.signature !== undefined) {
      const checked = Predict.encodeInputs(module.signature, input)
      if (Either.isLeft(checked)) return yield* checked.left
    }
    if (options?.semaphore !== undefined) yield* acquire(options.semaphore, 1)
    const inner = options?.adapter ?? (yield* Adapter.CurrentAdapter) ?? ChatAdapter.adapter
    const mailbox = yield* Mailbox.make<StreamEvent<O>, E>({
      capacity: Math.max(1, options?.bufferSize ?? 64),
      strategy: "suspend"
    })
    let calls = 0
    const adapter = streaming(inner, { nextCall: () => ++calls, offer: (events) => mailbox.offerAll(events) })
    // The module runs in a fiber of the scope: when the scope closes, it is interrupted.
    yield* module(input).pipe(
      Effect.provideService(Adapter.CurrentAdapter, adapter),
      Effect.flatMap((prediction) => mailbox.offer({ _tag: "Final", prediction })),
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  })

/**
 * Starts streaming a module (or a signature) in the current scope and returns its events: the
 * module runs until the scope closes. The returned stream needs no services, so providing the
 * model to this effect once is cheaper than `Stream.provideService` on a stream, which runs on
 * every pull. `stream` is `Stream.unwrapScoped(start(...))`.
 *
 * @example
 * ```ts
 * import { Signature, StreamPredict } from "@effect-dspy/core"
 * import { Stream } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * const events = Stream.unwrapScoped(StreamPredict.start(QA, { question: "Why?" }))
 * ```
 *
 * @since 0.1.0
 */
export function start<S extends Signature.Any>(
  signature: S,
  input: Signature.Input<S>,
  options?: Options
): Effect.Effect<
  Stream.Stream<StreamEvent<Signature.Output<S>>, Predict.PredictError>,
  Predict.PredictError,
  LanguageModel.LanguageModel | Scope.Scope
>
export function start<I, O, E, R>(
  module: Module.Module<I, O, E, R>,
  input: I,
  options?: Options
): Effect.Effect<Stream.Stream<StreamEvent<O>, E>, E | InvalidInput, R | LanguageModel.LanguageModel | Scope.Scope>
export function start(
  target: Signature.Any | Module.Any,
  input: unknown,
  options?: Options
): Effect.Effect<Stream.Stream<StreamEvent<unknown>, unknown>, unknown, unknown> {
  return startModule(Signature.isSignature(target) ? Predict.make(target) : target, input, options)
}

/**
 * Streams a module (or a signature, answered by a `Predict`): token deltas, field deltas, then
 * the final prediction. Inputs are checked first: bad input fails with `InvalidInput` before
 * any call. An unreadable final reply fails with `OutputParseError` (raw text included), after
 * the module's usual re-asks (whose tokens stream too, under the next `call` number).
 *
 * @example
 * ```ts
 * import { ChainOfThought, Signature, StreamPredict } from "@effect-dspy/core"
 * import { Console, Stream } from "effect"
 *
 * const solve = ChainOfThought.make(Signature.fromString("question -> answer: number"))
 * const program = StreamPredict.stream(solve, { question: "2 + 2?" }).pipe(
 *   Stream.runForEach((event) =>
 *     event._tag === "FieldDelta" ? Console.log(event.field, event.delta)
 *     : event._tag === "Final" ? Console.log("answer:", event.prediction.output.answer)
 *     : Console.log(event.delta)
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
export function stream<S extends Signature.Any>(
  signature: S,
  input: Signature.Input<S>,
  options?: Options
): Stream.Stream<StreamEvent<Signature.Output<S>>, Predict.PredictError, LanguageModel.LanguageModel>
export function stream<I, O, E, R>(
  module: Module.Module<I, O, E, R>,
  input: I,
  options?: Options
): Stream.Stream<StreamEvent<O>, E | InvalidInput, R | LanguageModel.LanguageModel>
export function stream(
  target: Signature.Any | Module.Any,
  input: unknown,
  options?: Options
): Stream.Stream<StreamEvent<unknown>, unknown, unknown> {
  return Stream.unwrapScoped(startModule(Signature.isSignature(target) ? Predict.make(target) : target, input, options))
}

/**
 * Runs a stream of events to its final prediction, dropping the deltas.
 *
 * @example
 * ```ts
 * import { Signature, StreamPredict } from "@effect-dspy/core"
 * const QA = Signature.fromString("question -> answer")
 * const answer = StreamPredict.final(StreamPredict.stream(QA, { question: "Why?" }))
 * ```
 *
 * @since 0.1.0
 */
export const final = <O, E, R>(self: Stream.Stream<StreamEvent<O>, E, R>): Effect.Effect<Prediction.Prediction<O>, E, R> =>
  Effect.flatMap(
    Stream.runFold(self, undefined as Prediction.Prediction<O> | undefined, (last, event) =>
      event._tag === "Final" ? event.prediction : last),
    (prediction) =>
      prediction === undefined ? Effect.dieMessage("StreamPredict.final: the stream ended without a Final event") : Effect.succeed(prediction)
  )

/**
 * Keeps only the text of the token deltas.
 *
 * @since 0.1.0
 */
export const tokens = <O, E, R>(self: Stream.Stream<StreamEvent<O>, E, R>): Stream.Stream<string, E, R> =>
  // One pass per chunk, no `Option` per event (what `Stream.filterMap` would allocate).
  Stream.mapChunks(self, (events) => {
    const out: Array<string> = []
    for (const event of events) if (event._tag === "TokenDelta") out.push(event.delta)
    return Chunk.unsafeFromArray(out)
  })
