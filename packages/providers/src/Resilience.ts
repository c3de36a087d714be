/**
 * The one retry loop of the library: one policy wraps every provider's `LanguageModel`.
 * It classifies failures (`LmError`), retries only what is retryable with exponential backoff and
 * jitter, never before the server's rate-limit reset, caps attempts and elapsed time (per call,
 * and per unit of work with a `RetryBudget`), times out each attempt, and holds a `Limiter`
 * permit only while a request is in flight.
 *
 * Errors: the wrapped model fails with `AiError.UnknownError` whose `cause` is the classified
 * `LmError` (`LmError.classify` returns it). One exception: the framework's verdict that a
 * well-formed reply does not fit the caller's `generateObject` schema passes through unchanged,
 * with the reply's text, for the caller's own fallback readers (it is not retried here).
 *
 * Streams: a stream that fails before its first content part is retried like any call (its
 * metadata parts are held back until then); one that fails retryably after content fails with
 * `StreamFailed`, carrying the text received. A stream that ends without its finish part is a
 * failed attempt (`ConnectionReset`), never a prediction.
 *
 * @since 0.1.0
 */
import { EventBus } from "@effect-dspy/core"
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import * as Stream from "effect/Stream"
import { idleTimeout } from "./internal/idleTimeout.js"
import { Limiter } from "./Limiter.js"
import type * as LimiterNs from "./Limiter.js"
import * as LmError from "./LmError.js"

/**
 * The retry and timeout policy of a model; every field has a default (see `defaults`).
 *
 * @since 0.1.0
 */
export interface Policy {
  /** Retries after the first attempt (so `maxRetries + 1` attempts at most). Default 4. */
  readonly maxRetries?: number | undefined
  /** Backoff before the first retry. Default 500 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** Backoff growth per retry. Default 2. */
  readonly factor?: number | undefined
  /** Largest backoff (a server's reset may ask for more, and is honoured). Default 20 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** No retry starts later than this after the call began. Default 2 min. */
  readonly maxElapsed?: Duration.DurationInput | undefined
  /** Equal jitter: each backoff is drawn from [delay/2, delay]. Default true. */
  readonly jitter?: boolean | undefined
  /**
   * Timeout of one attempt (for a stream: the longest wait for its next part, the first
   * included). `undefined` or an infinite duration disables it. Default 10 minutes, as the
   * openai and anthropic SDKs have it: a reasoning model's answer can take minutes, and a
   * shorter deadline would cut it off and pay for it again on a retry. Set a shorter one where
   * answers are known to be quick.
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The default policy.
 *
 * @since 0.1.0
 */
export const defaults = {
  maxRetries: 4,
  baseDelay: Duration.millis(500),
  factor: 2,
  maxDelay: Duration.seconds(20),
  maxElapsed: Duration.minutes(2),
  jitter: true,
  timeout: Duration.minutes(10)
} as const

/**
 * A policy that never retries (classification and the timeout still apply).
 *
 * @since 0.1.0
 */
export const noRetry: Policy = { maxRetries: 0 }

const resolve = (policy: Policy) => {
  const timeout = Duration.decode("timeout" in policy ? policy.timeout ?? Duration.infinity : defaults.timeout)
  return {
    maxRetries: Math.max(0, Math.floor(policy.maxRetries ?? defaults.maxRetries)),
    baseMillis: Duration.toMillis(policy.baseDelay ?? defaults.baseDelay),
    factor: policy.factor ?? defaults.factor,
    maxDelayMillis: Duration.toMillis(policy.maxDelay ?? defaults.maxDelay),
    maxElapsedMillis: Duration.toMillis(policy.maxElapsed ?? defaults.maxElapsed),
    jitter: policy.jitter ?? defaults.jitter,
    timeout: Duration.isFinite(timeout) ? timeout : undefined
  }
}

/**
 * A retry budget shared by every call made under it (for a batch: every call of one item).
 *
 * @since 0.2.0
 */
export interface Budget {
  /**
   * Takes one retry that would start `delayMillis` from now: `false` (and nothing taken) when
   * no retry is left or it would start after the budget's deadline.
   */
  readonly take: (delayMillis: number) => Effect.Effect<boolean>
  /** Retries left. */
  readonly remaining: Effect.Effect<number>
}

/**
 * The retry budget in force, if any: `Resilience` asks it before every retry, on top of the
 * policy's per-call limits. A typed service, set with `withRetryBudget` (or provided directly).
 *
 * @since 0.2.0
 */
export class RetryBudget extends Context.Reference<RetryBudget>()("@effect-dspy/providers/Resilience/RetryBudget", {
  defaultValue: (): Budget | undefined => undefined
}) {}

/**
 * Options of a retry budget.
 *
 * @since 0.2.0
 */
export interface BudgetOptions {
  /** Retries shared by every call under the budget. Default unlimited (the policies decide). */
  readonly maxRetries?: number | undefined
  /** No retry starts later than this after the budget was made. Default unlimited. */
  readonly maxElapsed?: Duration.DurationInput | undefined
}

/**
 * Makes a retry budget; its deadline counts from now.
 *
 * @since 0.2.0
 */
export const makeRetryBudget = (options: BudgetOptions): Effect.Effect<Budget> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const deadline = options.maxElapsed === undefined ? Infinity : start + Duration.toMillis(options.maxElapsed)
    const left = yield* Ref.make(options.maxRetries ?? Infinity)
    return {
      remaining: Ref.get(left),
      take: (delayMillis) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          now + delayMillis > deadline
            ? Effect.succeed(false)
            : Ref.modify(left, (n) => (n > 0 ? [true, n - 1] : [false, n])))
    }
  })

/**
 * Runs an effect under a fresh retry budget: every model call inside it shares the budget's
 * retries and deadline (a batch runner wraps each item in one).
 *
 * @example
 * ```ts
 * import { Resilience } from "@effect-dspy/providers"
 * import { Effect } from "effect"
 * const item = Effect.succeed("answer")
 *
 * const bounded = item.pipe(Resilience.withRetryBudget({ maxRetries: 3, maxElapsed: "2 minutes" }))
 * ```
 *
 * @since 0.2.0
 */
export const withRetryBudget = (options: BudgetOptions) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(makeRetryBudget(options), (budget) => Effect.provideService(self, RetryBudget, budget))

/**
 * What the schedule decided for one failure.
 *
 * @since 0.1.0
 */
export interface RetryStep {
  /** Whether the schedule retries (false: it gives up on this failure). */
  readonly retrying: boolean
  /** 1 for the first retry. */
  readonly retry: number
  readonly delayMillis: number
  readonly error: LmError.LmError
}

/**
 * The retry schedule of a policy over classified failures: stops on a failure that is not a
 * retryable `LmError`, after `maxRetries`, when the next attempt would start after `maxElapsed`
 * (from `startMillis`), or when the budget refuses; otherwise waits an exponential backoff with
 * equal jitter, or the server's reset when that is later.
 *
 * @since 0.1.0
 */
export const schedule = (
  policy: Policy,
  options: { readonly startMillis?: number | undefined; readonly budget?: Budget | undefined } = {}
): Schedule.Schedule<RetryStep, unknown> => {
  const p = resolve(policy)
  return Schedule.makeWithState<number, unknown, RetryStep>(0, (now, input, retries) => {
    const error = LmError.isLmError(input) ? input : LmError.classify(input)
    const stop = (retry: number, delayMillis: number) =>
      Effect.succeed<readonly [number, RetryStep, ScheduleDecision.ScheduleDecision]>([
        retries,
        { retrying: false, retry, delayMillis, error },
        ScheduleDecision.done
      ])
    if (!error.retryable || retries >= p.maxRetries) return stop(retries, 0)
    const retry = retries + 1
    const backoff = Math.min(p.maxDelayMillis, p.baseMillis * Math.pow(p.factor, retry - 1))
    return Effect.flatMap(p.jitter ? Random.next : Effect.succeed(1), (r) => {
      const jittered = p.jitter ? backoff / 2 + (r * backoff) / 2 : backoff
      const reset = "retryAfterMillis" in error ? error.retryAfterMillis ?? 0 : 0
      const delay = Math.round(Math.max(jittered, reset))
      if (now + delay - (options.startMillis ?? now) > p.maxElapsedMillis) return stop(retry, delay)
      const granted = options.budget === undefined ? Effect.succeed(true) : options.budget.take(delay)
      return Effect.flatMap(granted, (ok) =>
        ok
          ? Effect.succeed<readonly [number, RetryStep, ScheduleDecision.ScheduleDecision]>([
            retry,
            { retrying: true, retry, delayMillis: delay, error },
            ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))
          ])
          : stop(retry, delay))
    })
  })
}

/**
 * Counter of retries, tagged with `error` (the classified tag).
 *
 * @since 0.1.0
 */
export const retriesTotal = Metric.counter("effect_dspy_lm_retries_total", {
  description: "Language-model call retries",
  incremental: true
})

/**
 * Counter of failed attempts, tagged with `error` (the classified tag).
 *
 * @since 0.1.0
 */
export const failedAttemptsTotal = Metric.counter("effect_dspy_lm_failed_attempts_total", {
  description: "Failed language-model call attempts",
  incremental: true
})

/**
 * Options of `make` / `layer`.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly policy?: Policy | undefined
  /** Names the model in errors and events, e.g. `"openai/gpt-4o-mini"`. */
  readonly provider?: string | undefined
  /** Secret values to hide from error descriptions. */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /** A shared limiter; by default the `Limiter` in context, if any. */
  readonly limiter?: LimiterNs.Service | undefined
}

const PRELUDE: ReadonlySet<string> = new Set(["response-metadata", "text-start", "reasoning-start", "tool-params-start"])

/**
 * Wraps a `LanguageModel` service with the policy.
 *
 * @since 0.1.0
 */
export const make = (service: LanguageModel.Service, options: Options = {}): LanguageModel.Service => {
  const policy = options.policy ?? {}
  const p = resolve(policy)
  const provider = options.provider ?? "LanguageModel"
  const limiter = options.limiter
  const slash = provider.indexOf("/")
  const eventProvider = slash < 0 ? provider : provider.slice(0, slash)
  const eventModel = slash < 0 ? undefined : provider.slice(slash + 1)

  const timeoutError = () =>
    new LmError.Timeout({
      provider,
      description: `no response within ${Duration.format(p.timeout ?? Duration.zero)}`,
      ...(p.timeout === undefined ? {} : { afterMillis: Duration.toMillis(p.timeout) })
    })

  // One failed attempt: classified (an error that is not the provider's passes as it is),
  // counted, and a rate limit tells the limiter to cool down.
  const settle = (e: unknown): Effect.Effect<unknown> =>
    !LmError.isLmError(e) && (!AiError.isAiError(e) || LmError.isOutputMismatch(e)) ? Effect.succeed(e) : Effect.flatMap(
      Clock.currentTimeMillis,
      (nowMillis) => {
        const error = LmError.classify(e, { secrets: options.secrets, nowMillis, provider })
        const count = Metric.increment(Metric.tagged(failedAttemptsTotal, "error", error._tag))
        const pause = limiter !== undefined && error._tag === "RateLimited" && error.retryAfterMillis !== undefined
          ? limiter.pauseFor(error.retryAfterMillis)
          : Effect.void
        return Effect.as(Effect.zipRight(count, pause), error)
      }
    )

  const onRetry = (step: RetryStep): Effect.Effect<void> =>
    step.retrying
      ? Effect.zipRight(
        Metric.increment(Metric.tagged(retriesTotal, "error", step.error._tag)),
        Effect.zipRight(
          Effect.logDebug(`retry ${step.retry} in ${step.delayMillis} ms after ${step.error.message}`),
          // Retries happen below core's LM call, so core cannot see them: say them here.
          EventBus.publish({
            type: "lm.retry",
            provider: eventProvider,
            model: eventModel,
            attempt: step.retry + 1,
            errorTag: step.error._tag,
            delayMillis: step.delayMillis
          })
        )
      )
      : Effect.void

  // The call's schedule: its elapsed time counts from its start, and it asks the budget in force.
  const callSchedule = (startMillis: number) =>
    Effect.map(RetryBudget, (budget) => Schedule.tapOutput(schedule(policy, { startMillis, budget }), onRetry))

  const final = (method: string) => (e: unknown): unknown => (LmError.isLmError(e) ? LmError.toAiError(e, method) : e)

  // Every `LanguageModel` method fails with `AiError` (plus, with a toolkit, the handlers' own
  // errors), and an `AiError` is only ever replaced by an `AiError`: the error type is kept.
  const retryEffect = <A, E, R>(self: Effect.Effect<A, E, R>, method: string): Effect.Effect<A, E, R> => {
    const timed = p.timeout === undefined ? self : Effect.timeoutFail(self, { duration: p.timeout, onTimeout: timeoutError })
    const settled = Effect.catchAll(timed, (e) => Effect.flip(settle(e)))
    const attempt = limiter === undefined ? settled : limiter.withPermit(settled)
    // The schedule is set up at the first failure (a call that succeeds pays for one clock read):
    // `Effect.retry` then starts from that failure, replayed once, and runs the attempt again.
    const retried = p.maxRetries === 0 ? attempt : Effect.clockWith((clock) => {
      const start = clock.unsafeCurrentTimeMillis()
      return Effect.catchAll(attempt, (first) => {
        let replayed = false
        const again = Effect.suspend(() => (replayed ? attempt : ((replayed = true), Effect.fail(first))))
        return Effect.flatMap(callSchedule(start), (s) => Effect.retry(again, s))
      })
    })
    return Effect.mapError(retried, final(method)) as Effect.Effect<A, E, R>
  }

  // A stream is retried only before its first content part (see `attempt`): the retry loop is a
  // `Stream.catchAll` per attempt, and its schedule is made at the first failure, so a stream that
  // succeeds pays nothing for it per chunk. (`Stream.retry` would reset its schedule as an effect
  // on every chunk that passes, for a stream that can no longer be retried.)
  const retryStream = <A extends { readonly type: string }, E, R>(
    self: Stream.Stream<A, E, R>,
    method: string
  ): Stream.Stream<A, E, R> => {
    // One attempt; `state.delivered` says whether content reached the consumer.
    const attempt = (state: { delivered: boolean }): Stream.Stream<A, unknown, R> =>
      Stream.suspend(() => {
        let finished = false
        let partialText = ""
        let held: Array<A> = []
        const timed = p.timeout === undefined ? self : idleTimeout(self, p.timeout, timeoutError)
        // Parts without content wait for the first content part: a failure before it is invisible
        // to the consumer, so the attempt can be retried as if it never streamed. (A channel rather
        // than `Stream.mapChunks`, which would pass on empty chunks.)
        const hold: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<A>, unknown, unknown, unknown, unknown> = Channel
          .readWith({
            onInput: (chunk: Chunk.Chunk<A>) => {
              const out: Array<A> = []
              for (const part of chunk) {
                if (part.type === "finish") finished = true
                if (!state.delivered && PRELUDE.has(part.type)) {
                  held.push(part)
                  continue
                }
                if (!state.delivered) {
                  state.delivered = true
                  out.push(...held)
                  held = []
                }
                if (part.type === "text-delta" && "delta" in part && typeof part.delta === "string") {
                  partialText += part.delta
                }
                out.push(part)
              }
              return out.length === 0 ? hold : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), hold)
            },
            onFailure: (error) => Channel.fail(error),
            onDone: () => Channel.void
          })
        const body = Stream.pipeThroughChannelOrFail(timed, hold).pipe(
          Stream.concat(Stream.suspend(() =>
            finished
              ? (held.length === 0 ? Stream.empty : Stream.fromIterable(held))
              : Stream.fail(
                new LmError.ConnectionReset({ provider, description: "the stream ended before the model finished its reply" })
              )
          )),
          Stream.catchAll((e) =>
            Stream.fromEffect(Effect.flatMap(settle(e), (error) =>
              Effect.fail(
                state.delivered && LmError.isLmError(error) && error.retryable
                  ? new LmError.StreamFailed({
                    provider: error.provider,
                    description: error.description,
                    ...(error.status === undefined ? {} : { status: error.status }),
                    partialText,
                    reason: error._tag
                  })
                  : error
              )))
          )
        )
        return limiter === undefined ? body : limiter.withStreamPermit(body)
      })
    const retried: Stream.Stream<A, unknown, R> = p.maxRetries === 0
      ? Stream.suspend(() => attempt({ delivered: false }))
      : Stream.unwrap(Effect.clockWith((clock) =>
        Effect.sync(() => {
          const start = clock.unsafeCurrentTimeMillis()
          let driver: Schedule.ScheduleDriver<RetryStep, unknown> | undefined
          const scheduleDriver = Effect.suspend(() =>
            driver !== undefined
              ? Effect.succeed(driver)
              : Effect.tap(Effect.flatMap(callSchedule(start), Schedule.driver), (made) => {
                driver = made
              })
          )
          // After a failure before content: the schedule's verdict (and backoff), then the next
          // attempt; after content the failure is final.
          const loop: Stream.Stream<A, unknown, R> = Stream.suspend(() => {
            const state = { delivered: false }
            return Stream.catchAll(attempt(state), (error) =>
              state.delivered ? Stream.fail(error) : Stream.unwrap(Effect.flatMap(scheduleDriver, (d) =>
                Effect.match(d.next(error), {
                  onFailure: () => Stream.fail(error),
                  onSuccess: () => loop
                }))))
          })
          return loop
        })
      ))
    return Stream.mapError(retried, final(method)) as Stream.Stream<A, E, R>
  }

  return {
    generateText: (options) => retryEffect(service.generateText(options), "generateText"),
    generateObject: (options) => retryEffect(service.generateObject(options), "generateObject"),
    streamText: (options) => retryStream(service.streamText(options), "streamText")
  }
}

/**
 * Rebuilds the `LanguageModel` in context with the policy (using the `Limiter` in context when
 * `options.limiter` is not given).
 *
 * @example
 * ```ts
 * import { ChatCompletions, Resilience } from "@effect-dspy/providers"
 * import { Layer } from "effect"
 *
 * const Model = Resilience.layer({ policy: { maxRetries: 3, timeout: "30 seconds" } }).pipe(
 *   Layer.provide(ChatCompletions.layer({ model: "llama3.1:8b", apiUrl: "http://localhost:11434/v1" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const service = yield* LanguageModel.LanguageModel
      const limiter = options.limiter ?? Option.getOrUndefined(yield* Effect.serviceOption(Limiter))
      return make(service, { ...options, limiter })
    })
  )
