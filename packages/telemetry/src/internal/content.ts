import * as Prompt from "@effect/ai/Prompt"
import type { GenAiSpan } from "@effect-dspy/core"
import type * as Tracer from "effect/Tracer"
import * as SpanContent from "../SpanContent.js"
import { RecordedSpan, SpanView } from "./span.js"

/**
 * Span content kept unrendered with its OpenTelemetry span until the exporter needs it:
 * rendering (JSON, redaction, masking) then happens off the caller's fiber, once, and only for
 * spans that are exported, never for spans dropped from a full queue.
 */
export interface DeferredContent {
  /** Core's span-content sink: module, LM and tool inputs and outputs. */
  readonly sink: GenAiSpan.ContentSink
  /** Keeps an `@effect/ai` call's content for the span; false when the span is not an exported one. */
  readonly defer: (span: Tracer.Span, content: SpanContent.LmContent) => boolean
  /** The rendered attributes of an exported span, if it has content. */
  readonly attributesFor: (span: object) => Readonly<Record<string, string>> | undefined
}

/** A span's content, kept until it is exported. */
export interface Entry {
  readonly values: Array<{ readonly value: unknown; readonly info: GenAiSpan.ContentInfo }>
  lm: SpanContent.LmContent | undefined
  rendered: Readonly<Record<string, string>> | undefined
}

// @effect/opentelemetry's span keeps the OpenTelemetry span, which the exporter receives.
const otelSpanOf = (span: Tracer.Span): object | undefined => {
  const otel: unknown = Reflect.get(span, "span")
  return typeof otel === "object" && otel !== null ? otel : undefined
}

/** The shape a captured value is rendered from: prompts as `{ role, content }` messages. */
const renderable = (value: unknown): unknown => (Prompt.isPrompt(value) ? SpanContent.promptMessages(value) : value)

const renderEntry = (render: SpanContent.Renderer, entry: Entry): Record<string, string> => {
  const out: Record<string, string> = entry.lm === undefined ? {} : SpanContent.renderLmContent(render, entry.lm)
  for (const { info, value } of entry.values) {
    const text = render(renderable(value), info)
    if (text !== undefined) out[`langfuse.observation.${info.direction}`] = text
  }
  return out
}

export const make = (render: SpanContent.Renderer): DeferredContent => {
  // Recorded spans keep their entry themselves; spans of the OpenTelemetry SDK (the tracer
  // used when a context manager is registered) in a WeakMap keyed by the SDK span.
  const entries = new WeakMap<object, Entry>()
  const entryOf = (span: Tracer.Span): Entry | undefined => {
    if (span instanceof RecordedSpan) return span.content ??= { values: [], lm: undefined, rendered: undefined }
    const otel = otelSpanOf(span)
    if (otel === undefined) return undefined
    let entry = entries.get(otel)
    if (entry === undefined) {
      entry = { values: [], lm: undefined, rendered: undefined }
      entries.set(otel, entry)
    }
    return entry
  }
  return {
    sink: (span, value, info) => {
      const entry = entryOf(span)
      if (entry !== undefined) {
        entry.values.push({ value, info })
        return
      }
      const text = render(renderable(value), info)
      if (text !== undefined) span.attribute(`langfuse.observation.${info.direction}`, text)
    },
    defer: (span, content) => {
      const entry = entryOf(span)
      if (entry === undefined) return false
      entry.lm = content
      return true
    },
    attributesFor: (span) => {
      const entry = span instanceof SpanView ? span.content : entries.get(span)
      if (entry === undefined) return undefined
      // Rendered once even when several destinations export the span.
      entry.rendered ??= renderEntry(render, entry)
      return entry.rendered
    }
  }
}

const isGeneration = (span: Tracer.Span) => span.attributes.get("langfuse.observation.type") === "generation"

/**
 * The telemetry layers' span transformer. Core hands an LM call's prompt and reply to the
 * sink itself (failed calls included), so content here is only for `LanguageModel` calls made
 * outside core's `chat` spans.
 */
export const spanTransformer = (render: SpanContent.Renderer | undefined, deferred: DeferredContent | undefined) =>
  SpanContent.makeSpanTransformer(
    render === undefined ? undefined : (span, content) => {
      if (isGeneration(span)) return
      if (deferred !== undefined && deferred.defer(span, content)) return
      for (const [key, value] of Object.entries(SpanContent.renderLmContent(render, content))) span.attribute(key, value)
    }
  )
