import type * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Adapter from "../Adapter.js"
import { EventBus } from "../EventBus.js"
import * as GenAiSpan from "../GenAiSpan.js"
import { LmConfig } from "../LmConfig.js"
import type * as Signature from "../Signature.js"
import * as Usage from "../Usage.js"
import { addUsage, CurrentCollector } from "./collector.js"
import { UsageTrackers } from "./usageTrackers.js"

// The JSON adapter asks the model for a JSON object (`gen_ai.output.type` json); every other
// adapter for text with field markers.
const JsonAdapterName = "JsonAdapter"

/**
 * One LM call made by a predictor: a generation span (`chat {model}`, see `GenAiSpan.lmSpan`,
 * naming the predictor, `moduleName`), `lm.*` events, and usage recorded with the enclosing
 * module calls and trackers.
 */
export const callModel = Effect.fnUntraced(function*(
  adapter: Adapter.Adapter,
  signature: Signature.Any,
  moduleName: string,
  prompt: Prompt.Prompt,
  attempt: number
) {
  const config = yield* LmConfig
  const bus = yield* EventBus
  const model = config.model ?? "unknown"
  const span = GenAiSpan.lmSpan({
    ...config,
    adapter: adapter.name,
    signature: signature.name,
    predictor: moduleName,
    outputType: adapter.name === JsonAdapterName ? "json" : "text"
  })
  const generate = adapter.generate(signature, prompt).pipe(
    Effect.tap((reply) =>
      Effect.flatMap(Effect.currentSpan, (current) =>
        Effect.sync(() => {
          current.attribute(GenAiSpan.Attributes.responseFinishReasons, [reply.finishReason])
          GenAiSpan.setUsage(current, reply.usage)
        })).pipe(Effect.ignore)
    ),
    Effect.tapError((error) => Effect.annotateCurrentSpan(GenAiSpan.Attributes.errorType, error._tag)),
    GenAiSpan.withContent({ span: "lm", name: model }, prompt, (reply) => reply.text),
    GenAiSpan.withSpan(span)
  )
  if (!bus.active()) return yield* Effect.tap(generate, recordUsage)
  // Events are built only when someone listens.
  const common = { callId: bus.nextCallId(), module: moduleName, signature: signature.name, provider: config.provider, model: config.model }
  const start = yield* Clock.currentTimeMillis
  yield* bus.publish({ type: "lm.start", ...common, attempt })
  const reply = yield* generate.pipe(
    Effect.tapError((error) =>
      Effect.flatMap(Clock.currentTimeMillis, (end) =>
        bus.publish({ type: "lm.error", ...common, durationMillis: end - start, errorTag: error._tag, message: error.message }))
    )
  )
  const usage = yield* recordUsage(reply)
  const end = yield* Clock.currentTimeMillis
  yield* bus.publish({ type: "lm.end", ...common, durationMillis: end - start, usage, finishReason: reply.finishReason })
  return reply
})

/** Adds a reply's usage to the enclosing module calls' collectors and to every `Usage.track`. */
const recordUsage = (reply: Adapter.Reply): Effect.Effect<Usage.Usage> =>
  Effect.gen(function*() {
    const usage = Usage.fromResponse(reply.usage)
    addUsage(yield* CurrentCollector, usage)
    for (const track of yield* UsageTrackers) track(usage)
    return usage
  })
