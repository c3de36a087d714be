import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Adapter from "../Adapter"
import { EventBus } from "../EventBus"
import { LmConfig } from "../LmConfig"
import type * as Signature from "../Signature"
import * as Usage from "../Usage"
import { addUsage, CurrentCollector } from "./collector"

/**
 * One LM call made by a predictor: a `chat {model}` span with the GenAI semantic-convention
 * attributes, `lm.*` events, and usage recorded with the enclosing module calls and trackers.
 */
export const callModel = (
  adapter: Adapter.Adapter,
  signature: Signature.Any,
  moduleName: string,
  prompt: Prompt.Prompt,
  attempt: number
): Effect.Effect<{ readonly reply: Adapter.Reply; readonly usage: Usage.Usage }, AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.flatMap(Effect.all([LmConfig, EventBus, CurrentCollector, Clock.currentTimeMillis]), ([config, bus, collector, start]) => {
    const provider = config.provider
    const model = config.model
    const active = bus.active()
    const callId = active ? bus.nextCallId() : 0
    const common = { callId, module: moduleName, signature: signature.name, provider, model }
    const attributes: Record<string, unknown> = {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": provider,
      "gen_ai.system": provider,
      "gen_ai.request.model": model,
      "gen_ai.request.temperature": config.temperature,
      "gen_ai.request.max_tokens": config.maxTokens,
      "dspy.adapter": adapter.name,
      "dspy.signature": signature.name,
      "langfuse.observation.type": "generation"
    }
    const call = adapter.generate(signature, prompt).pipe(
      Effect.tap((reply) =>
        Effect.annotateCurrentSpan({
          "gen_ai.response.finish_reasons": [reply.finishReason],
          "gen_ai.usage.input_tokens": reply.usage.inputTokens,
          "gen_ai.usage.output_tokens": reply.usage.outputTokens
        })
      ),
      Effect.tapError((error) => Effect.annotateCurrentSpan("error.type", error._tag)),
      Effect.withSpan(`chat ${model ?? "unknown"}`, { kind: "client", captureStackTrace: false, attributes }),
      Effect.map((reply) => {
        const usage = Usage.fromResponse(reply.usage)
        addUsage(collector, usage)
        return { reply, usage }
      }),
      Effect.tap(({ usage }) => Usage.record(usage))
    )
    if (!active) return call
    return bus.publish({ type: "lm.start", ...common, attempt }).pipe(
      Effect.zipRight(call),
      Effect.tap(({ reply, usage }) =>
        Effect.flatMap(Clock.currentTimeMillis, (end) =>
          bus.publish({ type: "lm.end", ...common, durationMillis: end - start, usage, finishReason: reply.finishReason }))
      ),
      Effect.tapError((error) =>
        Effect.flatMap(Clock.currentTimeMillis, (end) =>
          bus.publish({
            type: "lm.error",
            ...common,
            durationMillis: end - start,
            errorTag: error._tag,
            message: error.message
          }))
      )
    )
  })
