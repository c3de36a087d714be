import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Tracer from "effect/Tracer"
import type * as Adapter from "../Adapter.js"
import { EventBus } from "../EventBus.js"
import { History } from "../History.js"
import { LmConfig, type Settings } from "../LmConfig.js"
import * as SpanContent from "../SpanContent.js"
import type * as Signature from "../Signature.js"
import * as Usage from "../Usage.js"
import { addUsage, type Collector } from "./collector.js"
import { referenceReader, withServices } from "./context.js"
import { spansUnobserved } from "./tracing.js"

const readConfig = referenceReader(LmConfig)
const readBus = referenceReader(EventBus)
const readSink = referenceReader(SpanContent.SpanContent)
const readUsageSinks = referenceReader(Usage.UsageSink)
const readHistory = referenceReader(History)

/**
 * One LM call made by a predictor: a `chat {model}` span with the GenAI semantic-convention
 * attributes, `lm.*` events, and usage recorded with the enclosing module calls and trackers.
 */
export const callModel = (
  adapter: Adapter.Adapter,
  signature: Signature.Any,
  moduleName: string,
  prompt: Prompt.Prompt,
  attempt: number,
  /** Where the call's usage goes (with every enclosing collector). */
  collector: Collector | undefined
): Effect.Effect<{ readonly reply: Adapter.Reply; readonly usage: Usage.Usage }, AiError.AiError, LanguageModel.LanguageModel> =>
  // One context read for everything the call needs; the clock is read only for events.
  Effect.withFiberRuntime((fiber) => {
    const context = fiber.currentContext
    const config = readConfig(context)
    const bus = readBus(context)
    const sink = readSink(context)
    const sinks = readUsageSinks(context)
    const provider = config.provider
    const model = config.model
    const active = bus.active()
    const callId = active ? bus.nextCallId() : 0
    const common = { callId, module: moduleName, signature: signature.name, provider, model }
    const history = readHistory(context)
    const record = (reply: Adapter.Reply) => {
      const usage = Usage.fromResponse(reply.usage, reply.cached === true)
      addUsage(collector, usage)
      for (const recordUsage of sinks) recordUsage(usage)
      return { reply, usage }
    }
    // With `History.layer`, every call is kept with its prompt and reply.
    const remember = history === undefined
      ? undefined
      : ({ reply, usage }: { readonly reply: Adapter.Reply; readonly usage: Usage.Usage }) =>
        Effect.map(Clock.currentTimeMillis, (timestamp) =>
          history.record({
            timestamp,
            module: moduleName,
            signature: signature.name,
            provider,
            model,
            prompt,
            reply: reply.text,
            usage,
            cached: reply.cached === true
          }))
    const generate = adapter.generate(signature, prompt)
    const recorded = sink === undefined && spansUnobserved(fiber)
      ? Effect.map(generate, record)
      : Effect.map(traced(generate, { context, adapter, signature, prompt, config, sink }), record)
    const call = remember === undefined ? recorded : Effect.tap(recorded, remember)
    if (!active) return call
    return Effect.flatMap(Clock.currentTimeMillis, (start) =>
      bus.publish({ type: "lm.start", ...common, attempt }).pipe(
      Effect.zipRight(call),
      Effect.tap(({ reply, usage }) =>
        Effect.flatMap(Clock.currentTimeMillis, (end) =>
          bus.publish({
            type: "lm.end",
            ...common,
            durationMillis: end - start,
            usage,
            finishReason: reply.finishReason,
            cached: reply.cached === true
          }))
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
    ))
  })

/** The LM call inside its `chat {model}` span, with content capture when a sink is installed. */
const traced = (
  generate: Effect.Effect<Adapter.Reply, AiError.AiError, LanguageModel.LanguageModel>,
  call: {
    readonly context: Context.Context<never>
    readonly adapter: Adapter.Adapter
    readonly signature: Signature.Any
    readonly prompt: Prompt.Prompt
    readonly config: Settings
    readonly sink: SpanContent.Sink | undefined
  }
): Effect.Effect<Adapter.Reply, AiError.AiError, LanguageModel.LanguageModel> => {
  const { config, sink } = call
  const model = config.model
  const attributes: Record<string, unknown> = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": config.provider,
    "gen_ai.system": config.provider,
    "gen_ai.request.model": model,
    "gen_ai.request.temperature": config.temperature,
    "gen_ai.request.max_tokens": config.maxTokens,
    "dspy.adapter": call.adapter.name,
    "dspy.signature": call.signature.name,
    "langfuse.observation.type": "generation"
  }
  // What `Effect.withSpan` does, with the span in hand: the context is swapped once
  // (the span as parent of the provider's spans), and the span is annotated directly
  // rather than through `annotateCurrentSpan` (a context read and an effect each).
  return Effect.useSpan(
    `chat ${model ?? "unknown"}`,
    { kind: "client", captureStackTrace: false, attributes },
    (span) => {
      // Content capture with the span in hand: the sink is called directly (no context
      // read, no effect per value), and only when a telemetry layer installed one.
      if (sink !== undefined) sink(span, call.prompt, { span: "lm", name: model ?? "unknown", direction: "input" })
      return Effect.matchEffect(Effect.locally(generate, FiberRef.currentContext, withServices(call.context, Tracer.ParentSpan, span)), {
        onFailure: (error) => {
          span.attribute("error.type", error._tag)
          return Effect.fail(error)
        },
        onSuccess: (reply) => {
          if (sink !== undefined) sink(span, reply.text, { span: "lm", name: model ?? "unknown", direction: "output" })
          span.attribute("gen_ai.response.finish_reasons", [reply.finishReason])
          span.attribute("gen_ai.usage.input_tokens", reply.usage.inputTokens)
          span.attribute("gen_ai.usage.output_tokens", reply.usage.outputTokens)
          return Effect.succeed(reply)
        }
      })
    }
  )
}
