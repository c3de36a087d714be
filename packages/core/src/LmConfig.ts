/**
 * Per-call model settings, carried in the Effect context rather than in globals, so that one
 * call or one subtree of a program can use other settings (like DSPy's `with_lm`/`context`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/**
 * Settings a provider reads for each call. Unset fields leave the provider's defaults.
 *
 * @since 0.1.0
 */
export interface Settings {
  /** Provider name for spans and events, e.g. `openai`, `anthropic`, `simulator`. */
  readonly provider?: string | undefined
  /** Model name for spans and events, e.g. `gpt-4o-mini`. */
  readonly model?: string | undefined
  /** The provider's server (host and port of its base URL), for spans (`server.address`, `server.port`). */
  readonly server?: { readonly address: string; readonly port: number } | undefined
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly topP?: number | undefined
  readonly seed?: number | undefined
  /**
   * Distinguishes otherwise identical calls (BestOfN attempts, an optimizer's samples) so that
   * caches do not merge them; part of `LmCache`'s key, not sent to providers.
   */
  readonly rolloutId?: number | undefined
  /**
   * How many completions a `Predict` asks for (DSPy's `n`): with `n > 1` the prediction carries
   * all of them in `completions`, each from its own rollout.
   *
   * @since 0.2.0
   */
  readonly n?: number | undefined
}

/**
 * The settings in force for the current fiber. Defaults to none (provider defaults).
 *
 * @example
 * ```ts
 * import { LmConfig, Predict, Signature } from "@effect-dspy/core"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const cold = qa({ question: "What is 6 x 7?" }).pipe(LmConfig.withSettings({ temperature: 0 }))
 * ```
 *
 * @since 0.1.0
 */
export class LmConfig extends Context.Reference<LmConfig>()("@effect-dspy/core/LmConfig", {
  defaultValue: (): Settings => ({})
}) {}

/**
 * Runs an effect with these settings merged over the current ones.
 *
 * @since 0.1.0
 */
export const withSettings = (settings: Settings) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(LmConfig, (current) => Effect.provideService(self, LmConfig, { ...current, ...settings }))
