/**
 * A module is a function from typed inputs to an `Effect` of a `Prediction`: compose modules
 * with ordinary Effect code (`Effect.all`, `Effect.forEach` with `{ concurrency }`).
 * Its learnable state (instructions and demos of each named predictor) is immutable:
 * `withState` returns a new module.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as EffectContext from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { pipeArguments, type Pipeable } from "effect/Pipeable"
import type * as Tracer from "effect/Tracer"
import type * as Demo from "./Demo.js"
import { EventBus } from "./EventBus.js"
import * as GenAiSpan from "./GenAiSpan.js"
import { type Collector, CurrentCollector, makeCollector } from "./internal/collector.js"
import { causeTag } from "./internal/describe.js"
import { LmConfig } from "./LmConfig.js"
import type * as Prediction from "./Prediction.js"
import type * as Signature from "./Signature.js"

/**
 * The learnable state of one predictor.
 *
 * @since 0.1.0
 */
export interface PredictorState {
  readonly instructions: string
  /** Demos in encoded (JSON-safe) form. */
  readonly demos: ReadonlyArray<Demo.Encoded>
}

/**
 * A named predictor inside a module, for state save/load and optimizers.
 *
 * @since 0.1.0
 */
export interface PredictorInfo {
  /** Dotted path from the module root, e.g. `draft.predict`; a bare Predict is `self`. */
  readonly path: string
  /** Identity of the predictor instance, matching `TraceEntry.predictorId`. */
  readonly id: symbol
  readonly signature: Signature.Any
  readonly state: PredictorState
}

/**
 * Learnable state of a whole program, keyed by predictor path.
 *
 * @since 0.1.0
 */
export interface State {
  readonly predictors: Readonly<Record<string, PredictorState>>
}

/**
 * A module.
 *
 * @since 0.1.0
 */
export interface Module<in I, out O, out E = never, out R = never> extends Pipeable {
  (input: I): Effect.Effect<Prediction.Prediction<O>, E, R>
  readonly name: string
  /** `Predict`, `ChainOfThought`, `ReAct`, `BestOfN`, `Refine`, or `Module` for user compositions. */
  readonly kind: string
  /** The signature the module answers, when it has one. */
  readonly signature: Signature.Any | undefined
  readonly predictors: ReadonlyArray<PredictorInfo>
  /** A copy of this module whose predictors take their state from `state` (missing paths keep theirs). */
  readonly withState: (state: State) => Module<I, O, E, R>
}

/**
 * Any module.
 *
 * @since 0.1.0
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = Module<any, unknown, unknown, unknown>

/**
 * The input type of a module.
 *
 * @since 0.1.0
 */
export type Input<M> = M extends Module<infer I, infer _O, infer _E, infer _R> ? I : never
/**
 * The output type of a module.
 *
 * @since 0.1.0
 */
export type Output<M> = M extends Module<infer _I, infer O, infer _E, infer _R> ? O : never
/**
 * The error type of a module.
 *
 * @since 0.1.0
 */
export type Error<M> = M extends Module<infer _I, infer _O, infer E, infer _R> ? E : never
/**
 * The requirements of a module.
 *
 * @since 0.1.0
 */
export type Context<M> = M extends Module<infer _I, infer _O, infer _E, infer R> ? R : never

/**
 * The state of every predictor of a module.
 *
 * @since 0.1.0
 */
export const stateOf = (module: { readonly predictors: ReadonlyArray<PredictorInfo> }): State => ({
  predictors: Object.fromEntries(module.predictors.map((p) => [p.path, p.state]))
})

/**
 * The sub-state for child `key`: paths under `key.` lose the prefix; `key` itself becomes `self`.
 *
 * @since 0.1.0
 */
export const childState = (state: State, key: string): State => {
  const out: Record<string, PredictorState> = {}
  for (const [path, value] of Object.entries(state.predictors)) {
    if (path === key) out["self"] = value
    else if (path.startsWith(`${key}.`)) out[path.slice(key.length + 1)] = value
  }
  return { predictors: out }
}

/**
 * Prefixes a child's predictor paths with its key.
 *
 * @since 0.1.0
 */
export const prefixPredictors = (key: string, predictors: ReadonlyArray<PredictorInfo>): Array<PredictorInfo> =>
  predictors.map((p) => ({ ...p, path: p.path === "self" ? key : `${key}.${p.path}` }))

/**
 * What `instrument` needs to know about a module call.
 *
 * @since 0.1.0
 */
export interface CallInfo {
  readonly name: string
  readonly kind: string
  readonly signature: string
  /** The call's input, handed to the span-content sink (if any). */
  readonly input?: unknown
}

/**
 * Runs the body of a module call with its span (see `GenAiSpan.moduleSpan`), `module.*` events
 * and a trace collector, and assembles the `Prediction`. Every module kind goes through here.
 *
 * @example
 * ```ts
 * import { Module } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * // a module call of a custom kind: its span, events and Prediction
 * const shout = (input: { readonly text: string }) =>
 *   Module.instrument({ name: "shout", kind: "Shout", signature: "Shout", input }, Effect.succeed(input.text.toUpperCase()))
 * ```
 *
 * @since 0.1.0
 */
export const instrument = <O, E, R>(info: CallInfo, body: Effect.Effect<O, E, R>): Effect.Effect<Prediction.Prediction<O>, E, R> =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const sink = yield* GenAiSpan.CurrentContentSink
    const collector = makeCollector(yield* CurrentCollector)
    const description = GenAiSpan.moduleSpan({ ...info, provider: (yield* LmConfig).provider })
    // The span and the call's collector enter the context in one step.
    const traced = GenAiSpan.useSpan(
      description,
      (span) => {
        const run = GenAiSpan.contentFor(sink, span, { span: "module", name: info.name }, info.input, body)
        return Effect.map(
          description.kind === "agent" ? withUsageTotals(span, collector, run) : run,
          (output): Prediction.Prediction<O> => ({ output, usage: collector.usage, trace: collector.trace })
        )
      },
      (context) => EffectContext.add(context, CurrentCollector, collector)
    )
    if (!bus.active()) return yield* traced
    // Events are built only when someone listens.
    const common = { callId: bus.nextCallId(), module: info.name, kind: info.kind, signature: info.signature }
    const start = yield* Clock.currentTimeMillis
    yield* bus.publish({ type: "module.start", ...common })
    return yield* Effect.onExit(traced, (exit) =>
      Effect.flatMap(Clock.currentTimeMillis, (end) =>
        bus.publish({
          type: "module.end",
          ...common,
          durationMillis: end - start,
          success: Exit.isSuccess(exit),
          usage: collector.usage,
          error: Exit.isFailure(exit) ? causeTag(exit.cause) : undefined
        })))
  })

/** Sets an agent's usage totals on its span when it ends (the conventions ask for them), a failed run's too. */
const withUsageTotals = <A, E, R>(span: Tracer.Span, collector: Collector, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.onExit(self, () =>
    Effect.sync(() => {
      const usage = collector.usage
      GenAiSpan.setUsage(span, {
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedInputTokens: usage.cachedInputTokens > 0 ? usage.cachedInputTokens : undefined,
        reasoningTokens: usage.reasoningTokens > 0 ? usage.reasoningTokens : undefined
      })
    }))

const ModuleProto = {
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

/**
 * Builds a module value from a call function and its metadata.
 *
 * @since 0.1.0
 */
export const fromFunction = <I, O, E, R>(
  call: (input: I) => Effect.Effect<Prediction.Prediction<O>, E, R>,
  meta: {
    readonly name: string
    readonly kind: string
    readonly signature: Signature.Any | undefined
    readonly predictors: ReadonlyArray<PredictorInfo>
    readonly withState: (state: State) => Module<I, O, E, R>
  }
): Module<I, O, E, R> => {
  const fn = (input: I) => call(input)
  Object.setPrototypeOf(fn, ModuleProto)
  Object.defineProperty(fn, "name", { value: meta.name })
  return Object.assign(fn, {
    kind: meta.kind,
    signature: meta.signature,
    predictors: meta.predictors,
    withState: meta.withState
  }) as Module<I, O, E, R>
}

type Submodules = Readonly<Record<string, Any>>

/**
 * Composes modules into a program with a name, so that its predictors are saved, loaded and
 * optimized together. `forward` receives the (possibly re-stated) submodules.
 *
 * @example
 * ```ts
 * import { ChainOfThought, Module, Predict, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const Draft = Signature.fromString("topic -> draft")
 * const Polish = Signature.fromString("draft -> text")
 * const Writer = Module.make(
 *   { name: "Writer", submodules: { draft: ChainOfThought.make(Draft), polish: Predict.make(Polish) } },
 *   ({ draft, polish }, input: { readonly topic: string }) =>
 *     Effect.gen(function*() {
 *       const d = yield* draft(input)
 *       const p = yield* polish({ draft: d.output.draft })
 *       return p.output
 *     })
 * )
 * ```
 *
 * @since 0.1.0
 */
export const make = <const S extends Submodules, I, O, E, R>(
  options: { readonly name: string; readonly submodules: S },
  // A separate argument, so that TypeScript fixes `S` before checking `forward` (with
  // `Effect.gen` inside an options object, inference of `S` fails).
  forward: (submodules: S, input: I) => Effect.Effect<O, E, R>
): Module<I, O, E, R> => {
  const build = (submodules: S): Module<I, O, E, R> =>
    fromFunction(
      (input: I) =>
        instrument({ name: options.name, kind: "Module", signature: options.name, input }, forward(submodules, input)),
      {
        name: options.name,
        kind: "Module",
        signature: undefined,
        predictors: Object.entries(submodules).flatMap(([key, child]) => prefixPredictors(key, child.predictors)),
        withState: (state) => {
          const next: Record<string, Any> = {}
          for (const [key, child] of Object.entries(submodules)) next[key] = child.withState(childState(state, key))
          return build(next as S)
        }
      }
    )
  return build(options.submodules)
}
