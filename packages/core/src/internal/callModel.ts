import type * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Adapter from "../Adapter.js"
import { EventBus } from "../EventBus.js"
import * as GenAiSpan from "../GenAiSpan.js"
import { History } from "../History.js"
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
 * naming the predictor, `moduleName`), `lm.*` events, usage recorded with the enclosing module
 * calls and trackers, and the call kept by `History` when a history is in force.
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
  const history = yield* History
  const model = config.model ?? "unknown"
  const sink = yield* GenAiSpan.CurrentContentSink
  const description = GenAiSpan.lmSpan({
    ...config,
    adapter: adapter.name,
    signature: signature.name,
    predictor: moduleName,
    outputType: adapter.name === JsonAdapterName ? "json" : "text"
  })
  const generate = GenAiSpan.useSpan(description, (span) =>
    GenAiSpan.contentFor(
      sink,
      span,
      { span: "lm", name: model },
      prompt,
      adapter.generate(signature, prompt).pipe(
        Effect.tapBoth({
          onFailure: (error) => Effect.sync(() => span.attribute(GenAiSpan.Attributes.errorType, error._tag)),
          onSuccess: (reply) =>
            Effect.sync(() => {
              span.attribute(GenAiSpan.Attributes.responseFinishReasons, [reply.finishReason])
              GenAiSpan.setUsage(span, reply.usage)
            })
        })
      ),
      (reply) => reply.text
    ))
  // With `History.layer`, every call is kept with its prompt and reply.
  const remember = (reply: Adapter.Reply, usage: Usage.Usage) =>
    history === undefined ? Effect.void : Effect.map(Clock.currentTimeMillis, (timestamp) =>
      history.record({
        timestamp,
        module: moduleName,
        signature: signature.name,
        provider: config.provider,
        model: config.model,
        prompt,
        reply: reply.text,
        usage,
        cached: reply.cached === true
      }))
  if (!bus.active()) {
    const reply = yield* generate
    yield* remember(reply, yield* recordUsage(reply))
    return reply
  }
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
  yield* remember(reply, usage)
  const end = yield* Clock.currentTimeMillis
  yield* bus.publish({
    type: "lm.end",
    ...common,
    durationMillis: end - start,
    usage,
    finishReason: reply.finishReason,
    cached: reply.cached === true
  })
  return reply
})

/**
 * Adds a reply's usage to the enclosing module calls' collectors and to every `Usage.track`; a
 * reply from `LmCache` counts as a cached call with no tokens.
 */
const recordUsage = (reply: Adapter.Reply): Effect.Effect<Usage.Usage> =>
  Effect.gen(function*() {
    const usage = Usage.fromResponse(reply.usage, reply.cached === true)
    addUsage(yield* CurrentCollector, usage)
    for (const track of yield* UsageTrackers) track(usage)
    return usage
  })
