/**
 * One resilient call policy for every provider: classify failures, retry only what
 * is retryable with exponential backoff and jitter (honouring the server's
 * `Retry-After` when it asks for longer), cap attempts and total elapsed time, time
 * out each attempt, and hold a `Limiter` permit only while a request is in flight.
 *
 * `Resilience.layer(policy)` rebuilds the `LanguageModel` in context, so it wraps any
 * provider (ours, `@effect/ai-openai`, `@effect/ai-anthropic`, the simulator).
 *
 * Errors: the wrapped model still fails with `AiError` (the `LanguageModel`
 * contract), namely an `AiError.UnknownError` whose `cause` is the classified
 * `LmError` (secrets scrubbed); `LmError.classify(error)` returns it, and
 * `LmError.classified` maps a whole effect's errors.
 *
 * Concurrency slots: a call that sleeps before its retry does NOT keep its slot.
 * The `Limiter` permit is taken per attempt (for a stream: for the life of the
 * attempt's connection) and released before the backoff sleep, so a slot always
 * means a request on the wire; a 429 with `Retry-After` pauses the whole limiter
 * instead, so freed slots do not hammer the server. A 429 is therefore never an
 * item failure for a batch: the call waits and retries under the shared limiter
 * until its attempt or time budget runs out.
 *
 * @since 0.1.0
 */
import { EventBus } from "@effect-dspy/core"
import * as StreamRun from "@effect-dspy/core/StreamRun"
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Runtime from "effect/Runtime"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import * as Stream from "effect/Stream"
import { IdleWatch } from "./internal/idleWatch.js"
import * as StreamDeadline from "./internal/streamDeadline.js"
import type { IdleDeadline } from "./internal/streamDeadline.js"
import { Limiter } from "./Limiter.js"
import type * as LimiterNs from "./Limiter.js"
import * as LmError from "./LmError.js"

// =============================================================================
// Policy
// =============================================================================

/**
 * The retry and timeout policy; every field has a default (see `defaults`).
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
  /** Largest backoff (a server's `Retry-After` may ask for more). Default 20 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** No retry starts later than this after the first attempt began. Default 2 min. */
  readonly maxElapsed?: Duration.DurationInput | undefined
  /** Equal jitter: each backoff is drawn from [delay/2, delay]. Default true. */
  readonly jitter?: boolean | undefined
  /**
   * Timeout of one attempt (for a stream: the longest wait for the next part,
   * including the first). `undefined` or `Duration.infinity` (or `Infinity`) disables it. Default 60 s.
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
  timeout: Duration.seconds(60)
} as const

/**
 * A policy that never retries (classification, scrubbing and the timeout still apply).
 *
 * @since 0.1.0
 */
export const noRetry: Policy = { maxRetries: 0 }

interface Resolved {
  readonly maxRetries: number
  readonly baseMillis: number
  readonly factor: number
  readonly maxDelayMillis: number
  readonly maxElapsedMillis: number
  readonly jitter: boolean
  readonly timeout: Duration.Duration | undefined
}

const resolve = (policy: Policy): Resolved => {
  const timeout = "timeout" in policy ? policy.timeout : defaults.timeout
  const timeoutDuration = timeout === undefined ? undefined : Duration.decode(timeout)
  return {
    maxRetries: Math.max(0, Math.floor(policy.maxRetries ?? defaults.maxRetries)),
    baseMillis: Duration.toMillis(policy.baseDelay ?? defaults.baseDelay),
    factor: policy.factor ?? defaults.factor,
    maxDelayMillis: Duration.toMillis(policy.maxDelay ?? defaults.maxDelay),
    maxElapsedMillis: Duration.toMillis(policy.maxElapsed ?? defaults.maxElapsed),
    jitter: policy.jitter ?? defaults.jitter,
    timeout: timeoutDuration === undefined || !Duration.isFinite(timeoutDuration) ? undefined : timeoutDuration
  }
}

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
 * The backoff before retry number `retry` (1-based) without jitter: base·factor^(retry-1), capped.
 *
 * @since 0.1.0
 */
export const backoffMillis = (policy: Policy, retry: number): number => {
  const p = resolve(policy)
  return Math.min(p.maxDelayMillis, p.baseMillis * Math.pow(p.factor, Math.max(0, retry - 1)))
}

/**
 * The retry schedule of a policy, as an Effect `Schedule` over failures: stops on a
 * failure that is not a retryable `LmError`, after `maxRetries`, or when the next
 * attempt would start after `maxElapsed` (counted from `startMillis`); otherwise waits
 * an exponential backoff with equal jitter, or the server's `Retry-After` when longer.
 *
 * @since 0.1.0
 */
export const schedule = (policy: Policy, startMillis?: number): Schedule.Schedule<RetryStep, unknown> => {
  const p = resolve(policy)
  return Schedule.makeWithState<{ readonly retries: number; readonly start: number | undefined }, unknown, RetryStep>(
    { retries: 0, start: startMillis },
    (now, input, state) => {
      const start = state.start ?? now
      if (!LmError.isLmError(input) || !input.retryable || state.retries >= p.maxRetries) {
        return Effect.succeed([
          state,
          { retrying: false, retry: state.retries, delayMillis: 0, error: asLmError(input) },
          ScheduleDecision.done
        ])
      }
      const retry = state.retries + 1
      const backoff = Math.min(p.maxDelayMillis, p.baseMillis * Math.pow(p.factor, retry - 1))
      return Effect.map(p.jitter ? Random.next : Effect.succeed(1), (r) => {
        const jittered = p.jitter ? backoff / 2 + (r * backoff) / 2 : backoff
        const serverWait = "retryAfterMillis" in input ? input.retryAfterMillis : undefined
        const delay = Math.round(serverWait !== undefined && serverWait > jittered ? serverWait : jittered)
        const next = { retries: retry, start }
        if (now + delay - start > p.maxElapsedMillis) {
          return [next, { retrying: false, retry, delayMillis: delay, error: input }, ScheduleDecision.done] as const
        }
        const step: RetryStep = { retrying: true, retry, delayMillis: delay, error: input }
        return [next, step, ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))] as const
      })
    }
  )
}

const asLmError = (u: unknown): LmError.LmError => LmError.isLmError(u) ? u : LmError.classify(u)

// =============================================================================
// Metrics
// =============================================================================

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

// =============================================================================
// Wrapping
// =============================================================================

/**
 * Options of `make` / `layer`.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly policy?: Policy | undefined
  /** A label for errors raised here (timeouts), e.g. `"openai/gpt-4o-mini"`. */
  readonly provider?: string | undefined
  /** Secret values to scrub from error descriptions. */
  readonly secrets?: ReadonlyArray<Redacted.Redacted> | undefined
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
  const secrets = options.secrets ?? []
  const limiter = options.limiter
  const timeoutMillis = p.timeout === undefined ? undefined : Duration.toMillis(p.timeout)
  const timeoutError = () =>
    new LmError.Timeout({
      provider,
      description: `no response within ${timeoutMillis} ms`,
      ...(timeoutMillis === undefined ? {} : { afterMillis: timeoutMillis })
    })

  const classifyError = (e: unknown): unknown => AiError.isAiError(e) ? LmError.classify(e, { secrets }) : e

  // Bookkeeping for one failed attempt: metrics, and a limiter-wide pause when the
  // server asked us to wait.
  const onAttemptFailure = (e: unknown): Effect.Effect<void> => {
    if (!LmError.isLmError(e)) return Effect.void
    const count = Metric.increment(Metric.tagged(failedAttemptsTotal, "error", e._tag))
    if (limiter !== undefined && e._tag === "RateLimited" && e.retryAfterMillis !== undefined) {
      return Effect.zipRight(count, limiter.pauseFor(e.retryAfterMillis))
    }
    return count
  }

  // "openai/gpt-4o-mini" -> provider "openai", model "gpt-4o-mini", as on core's lm.* events
  const slash = provider.indexOf("/")
  const eventProvider = slash < 0 ? provider : provider.slice(0, slash)
  const eventModel = slash < 0 ? undefined : provider.slice(slash + 1)

  const onRetry = (step: RetryStep): Effect.Effect<void> =>
    !step.retrying ? Effect.void : Effect.zipRight(
      Metric.increment(Metric.tagged(retriesTotal, "error", step.error._tag)),
      Effect.zipRight(
        Effect.logDebug(`retry ${step.retry} in ${step.delayMillis} ms after ${step.error.message}`),
        // Retries happen below core's LM call, so core cannot see them: publish them here.
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

  const finalError = (method: string) => (e: unknown): unknown => (LmError.isLmError(e) ? LmError.toAiError(e, method) : e)

  // The wrapped effect's error type E always includes AiError (ExtractError of
  // every LanguageModel method does), and we only ever replace an AiError by an
  // AiError.UnknownError, so the error stays within E.
  const retryEffect = <A, E, R>(self: Effect.Effect<A, E, R>, method: string): Effect.Effect<A, E, R> =>
    // One clock read serves the timeout and the retry budget.
    Effect.clockWith((clock) => {
      const timed: Effect.Effect<A, unknown, R> = timeoutMillis === undefined
        ? self
        : timeoutAttempt(clock, self, timeoutMillis, timeoutError)
      // Classify and count in one handler (a `mapError` then a `tapError` would be two).
      const settle = (e: unknown): Effect.Effect<never, unknown> => {
        const classified = classifyError(e)
        return Effect.zipRight(onAttemptFailure(classified), Effect.fail(classified))
      }
      const toFinal = finalError(method)
      // The schedule is only built after a first failure: a call that succeeds pays
      // for one clock read, not for a schedule driver.
      const start = clock.unsafeCurrentTimeMillis()
      const retryAfter = (once: Effect.Effect<A, unknown, R>, first: unknown): Effect.Effect<A, unknown, R> =>
        Effect.flatMap(Schedule.driver(Schedule.tapOutput(schedule(policy, start), onRetry)), (driver) => {
          const loop = (error: unknown): Effect.Effect<A, unknown, R> =>
            Effect.matchEffect(driver.next(error), {
              onFailure: () => Effect.fail(toFinal(error)),
              onSuccess: () => Effect.catchAll(once, loop)
            })
          return loop(first)
        })
      if (limiter === undefined) {
        // One failure handler on the way of a call that succeeds: it classifies, counts,
        // retries and gives the final error (the schedule's loop handles later attempts).
        const once = Effect.catchAll(timed, settle)
        return Effect.catchAll(timed, (e) => {
          const classified = classifyError(e)
          return Effect.zipRight(
            onAttemptFailure(classified),
            p.maxRetries === 0 ? Effect.fail(toFinal(classified)) : retryAfter(once, classified)
          )
        }) as Effect.Effect<A, E, R>
      }
      // Classified and counted while the permit is held (a rate limit pauses the limiter).
      const once = limiter.withPermit(Effect.catchAll(timed, settle))
      // `retryAfter` already fails with the final error.
      return (p.maxRetries === 0
        ? Effect.mapError(once, toFinal)
        : Effect.catchAll(once, (first) => retryAfter(once, first))) as Effect.Effect<A, E, R>
    })

  const deadline: IdleDeadline<LmError.Timeout> | undefined = timeoutMillis === undefined
    ? undefined
    : { millis: timeoutMillis, onTimeout: timeoutError }

  // One attempt's post-processing as one channel stage (a `Stream` operator per step would cost
  // a channel hand-off per chunk each): hold back the parts that carry no content (metadata,
  // "start" markers) until the first content part, so that a failure before it is invisible to
  // the consumer and the call can be retried as if it never streamed; keep the text delivered;
  // classify a failure (after content: `StreamFailed` with that text) and count it.
  const attemptStage = <A extends { readonly type: string }>(): Channel.Channel<
    Chunk.Chunk<A>,
    Chunk.Chunk<A>,
    unknown,
    unknown,
    unknown,
    unknown
  > => {
    let delivered = false
    let partialText = ""
    let held: Array<A> = []
    const attemptError = (e: unknown): unknown => {
      const c = classifyError(e)
      if (delivered && LmError.isLmError(c)) {
        return new LmError.StreamFailed({
          provider: c.provider,
          description: c.description,
          ...(c.status === undefined ? {} : { status: c.status }),
          partialText,
          reason: c._tag
        })
      }
      return c
    }
    const reader: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<A>, unknown, unknown, unknown, unknown> = Channel
      .readWithCause({
        onInput: (chunk: Chunk.Chunk<A>) => {
          if (delivered) {
            for (const part of chunk) if (part.type === "text-delta") partialText += deltaOf(part)
            return Channel.flatMap(Channel.write(chunk), () => reader)
          }
          const out: Array<A> = []
          for (const part of chunk) {
            if (!delivered && PRELUDE.has(part.type)) {
              held.push(part)
              continue
            }
            if (!delivered) {
              delivered = true
              for (const h of held) out.push(h)
              held = []
            }
            if (part.type === "text-delta") partialText += deltaOf(part)
            out.push(part)
          }
          return out.length === 0 ? reader : Channel.flatMap(Channel.write(Chunk.unsafeFromArray(out)), () => reader)
        },
        onFailure: (cause) => {
          const failure = Cause.failureOrCause(cause)
          if (Either.isRight(failure)) return Channel.failCause(failure.right)
          const error = attemptError(failure.left)
          return Channel.flatMap(Channel.fromEffect(onAttemptFailure(error)), () => Channel.fail(error))
        },
        onDone: () => {
          const rest = held
          held = []
          return rest.length === 0 ? Channel.void : Channel.write(Chunk.unsafeFromArray(rest))
        }
      })
    return reader
  }

  const retryStream = <A extends { readonly type: string }, E, R>(
    // Built only when used (a provider's own deadline-enforcing stream replaces it).
    self: () => Stream.Stream<A, E, R>,
    method: string,
    // The provider's own stream under a deadline (see `internal/streamDeadline`), when it has one.
    withDeadline?: (deadline: IdleDeadline<LmError.Timeout>) => Stream.Stream<A, unknown, R>
  ): Stream.Stream<A, E, R> => {
    const source: Stream.Stream<A, unknown, R> = deadline === undefined
      ? self()
      : idleTimeout(self, deadline, withDeadline)
    const attempt = Stream.suspend(() => {
      const body = Stream.fromChannel(Channel.pipeTo(Stream.toChannel(source), attemptStage<A>()))
      return limiter === undefined
        ? body
        : limiter.withStreamPermit !== undefined
        ? limiter.withStreamPermit(body)
        : StreamRun.unwrapScoped(Effect.as(limiter.permitScoped, body))
    })
    // As for effects, the schedule driver is only built after a first failure. Not
    // `Stream.retry`: it builds a driver per stream and runs an effect per chunk (to reset the
    // schedule after output, which here never matters: a failure after content is not retried).
    const guarded = p.maxRetries === 0 ? attempt : StreamRun.unwrap(Effect.clockWith((clock) => {
      const start = clock.unsafeCurrentTimeMillis()
      return Effect.succeed(Stream.catchAll(attempt, (first) =>
        StreamRun.unwrap(Effect.map(Schedule.driver(Schedule.tapOutput(schedule(policy, start), onRetry)), (driver) => {
          const loop = (error: unknown): Stream.Stream<A, unknown, R> =>
            StreamRun.unwrap(Effect.match(driver.next(error), {
              onFailure: () => Stream.fail(error),
              onSuccess: () => Stream.catchAll(attempt, loop)
            }))
          return loop(first)
        }))))
    }))
    return Stream.mapError(guarded, finalError(method)) as Stream.Stream<A, E, R>
  }

  return {
    generateText: (options) => retryEffect(service.generateText(options), "generateText"),
    generateObject: (options) => retryEffect(service.generateObject(options), "generateObject"),
    streamText: (options) => {
      const own = options.toolkit === undefined ? StreamDeadline.get(service) : undefined
      return retryStream(
        () => service.streamText(options),
        "streamText",
        // Without a toolkit the parts have no tool parts: exactly this method's part type.
        own === undefined ? undefined : (deadline) => own(options, deadline) as ReturnType<typeof service.streamText>
      )
    }
  }
}

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

// Times out one attempt. On the live clock the attempt runs in a child fiber on this
// fiber's context and fiber refs, and a plain timer interrupts it: a fraction of
// `Effect.timeoutFail`'s cost, which races two forked fibers. The child is started at once
// (`Runtime.runFork`) rather than by `Effect.fork`, which schedules its start and then
// needs a `Fiber.await` (measured: about 5% of a whole prediction's client CPU).
// Interrupting the caller interrupts the attempt and waits for it (its finalizers abort
// the HTTP request). Under any other clock (TestClock) `Effect.timeoutFail`, so tests can
// drive time.
const timeoutAttempt = <A, E, R, E2>(
  clock: Clock.Clock,
  self: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => {
  if (clock !== liveClock) return Effect.timeoutFail(self, { duration: Duration.millis(millis), onTimeout })
  return Effect.withFiberRuntime<A, E | E2, R>((parent, status) =>
    Effect.async<A, E | E2>((resume) => {
      const runtime = Runtime.make({
        context: parent.currentContext as Context.Context<R>,
        runtimeFlags: status.runtimeFlags,
        fiberRefs: parent.getFiberRefs()
      })
      let timedOut = false
      const child = Runtime.runFork(runtime)(self)
      const timer = setTimeout(() => {
        timedOut = true
        child.unsafeInterruptAsFork(FiberId.none)
      }, millis)
      child.addObserver((exit) => {
        clearTimeout(timer)
        resume(timedOut && Exit.isInterrupted(exit) ? Effect.fail(onTimeout()) : exit)
      })
      return Effect.suspend(() => {
        clearTimeout(timer)
        return Fiber.interrupt(child)
      })
    })
  )
}

// Fails a stream that waits longer than the deadline for its next part (the first included).
// Under any clock but the live one (TestClock), `Stream.timeoutFail`. On the live clock, a
// provider that enforces the deadline itself (it aborts its request when the deadline passes, and
// registers only over an HTTP client known to end its pending read then) does so: nothing else is
// needed. For any other stream, neither `Stream.timeoutFail` nor
// `Stream.interruptWhen`: both race a forked fiber against every pull, which over the tokens of
// thousands of streams is most of a token's cost. Instead the source runs in one fiber feeding a
// bounded mailbox (one hand-off per chunk, and a chunk carries every part of a socket read), each
// chunk records the time, and one timer per stream checks the deadline when it fires: it re-arms
// for the time left, or fails the stream and interrupts the source (its HTTP request) at once.
// The consumer's time does not count: while the mailbox is full the watch is paused.
const idleTimeout = <A, E, R, E2>(
  self: () => Stream.Stream<A, E, R>,
  deadline: IdleDeadline<E2>,
  withDeadline: ((deadline: IdleDeadline<E2>) => Stream.Stream<A, unknown, R>) | undefined
): Stream.Stream<A, unknown, R> =>
  StreamRun.unwrap(Effect.clockWith((clock) => {
    if (clock !== liveClock) {
      return Effect.succeed(Stream.timeoutFail(self(), deadline.onTimeout, Duration.millis(deadline.millis)))
    }
    if (withDeadline !== undefined) return Effect.succeed(withDeadline(deadline))
    return Effect.succeed(StreamRun.unwrapScoped(Effect.gen(function*() {
      const mailbox = yield* Mailbox.make<A, E | E2>({ capacity: 256, strategy: "suspend" })
      // The source fiber, set once forked: the watch interrupts it (its HTTP request) on expiry.
      const running: { source: Fiber.RuntimeFiber<unknown, unknown> | undefined } = { source: undefined }
      const watch = new IdleWatch(deadline.millis, () => {
        mailbox.unsafeDone(Exit.fail(deadline.onTimeout()))
        running.source?.unsafeInterruptAsFork(FiberId.none)
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => watch.stop()))
      running.source = yield* StreamRun.forEachChunk(self(), (chunk) => {
        watch.touch()
        const rest = mailbox.unsafeOfferAll(chunk)
        if (Chunk.isEmpty(rest)) return Effect.void
        // Full: the consumer is behind, and the source waits on it, not on the server.
        watch.pause()
        return Effect.ensuring(mailbox.offerAll(rest), Effect.sync(() => watch.resume()))
      }).pipe(
        Mailbox.into(mailbox),
        Effect.forkScoped
      )
      return Mailbox.toStream(mailbox)
    })))
  }))

const deltaOf = (part: { readonly type: string }): string =>
  "delta" in part && typeof part.delta === "string" ? part.delta : ""

/**
 * Rebuilds the `LanguageModel` in context with the policy (using the `Limiter` in
 * context when `options.limiter` is not given).
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
