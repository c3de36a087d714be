/**
 * The model a runner uses: `--model`, else the environment (`EFFECT_DSPY_MODEL` and the
 * provider keys), with the simulator as the fallback. The same choice as the `effect-dspy
 * batch` command makes (`Cli.ts` has its own, with the limiter and timeout of a single-process run).
 */
import * as Lm from "@effect-dspy/providers/Lm"
import * as ModelId from "@effect-dspy/providers/ModelId"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

export const resolveModelId = (flag: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isSome(flag)) {
      // an explicit model must work: a missing key is an error when its layer is built, not a silent fallback
      yield* ModelId.parse(flag.value)
      return { modelId: flag.value, notice: undefined as string | undefined }
    }
    const { fallback, modelId } = yield* Lm.resolveFromEnv
    return { modelId, notice: fallback }
  })
