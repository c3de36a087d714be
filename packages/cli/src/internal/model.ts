/**
 * The model a command uses: `--model`, else the environment (`EFFECT_DSPY_MODEL` and the provider
 * keys), else the offline simulator, announced in one notice. `batch`, `example` and `runner`
 * all choose the same way.
 */
import * as Lm from "@effect-dspy/providers/Lm"
import * as ModelId from "@effect-dspy/providers/ModelId"
import * as SimulatorProvider from "@effect-dspy/simulator/SimulatorProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** The model id to use, and the notice to print when it is the simulator standing in. */
export const resolveModelId = (flag: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isSome(flag)) {
      // an explicit model must work: a missing key is an error when its layer is built, not a silent fallback
      yield* ModelId.parse(flag.value)
      return { modelId: flag.value, notice: undefined as string | undefined }
    }
    const fromEnv = yield* Lm.resolveFromEnv
    return Option.match(fromEnv, {
      onSome: (modelId) => ({ modelId, notice: undefined as string | undefined }),
      onNone: () => ({ modelId: SimulatorProvider.fallbackModelId, notice: SimulatorProvider.notice as string | undefined })
    })
  })

/** The model's layer, with `simulator/…` ids available (asked for, or as the announced fallback). */
export const modelLayer = (modelId: string, options: Lm.Options) =>
  Lm.layer(modelId, options).pipe(Layer.provide(SimulatorProvider.layer()))
