/**
 * Content capture: how prompts, outputs and tool arguments are rendered onto spans
 * (`langfuse.observation.input` / `langfuse.observation.output`). Capture can be turned off,
 * built-in patterns redact API keys and bearer tokens, a masking function can redact more,
 * and every value is truncated to a maximum length.
 *
 * @since 0.1.0
 */
import type * as Prompt from "@effect/ai/Prompt"
import type { SpanTransformer } from "@effect/ai/Telemetry"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import { redactPatterns } from "./internal/redact.js"
import { safeJson } from "./internal/json.js"

/**
 * Which span a value belongs to, and whether it went in or came out.
 *
 * @since 0.1.0
 */
export interface Info {
  readonly span: "module" | "lm" | "tool"
  readonly direction: "input" | "output"
  /** Module, model or tool name. */
  readonly name: string
}

/**
 * Content-capture options.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Capture prompts and outputs on spans (default `true`). */
  readonly capture?: boolean | undefined
  /** Characters kept per value; longer values are cut with a marker (default 16384). */
  readonly maxLength?: number | undefined
  /** Redacts more after the built-in redaction, e.g. e-mail addresses or customer ids. */
  readonly mask?: ((text: string, info: Info) => string) | undefined
  /** Apply the built-in patterns for API keys and tokens (default `true`). */
  readonly redactKnownPatterns?: boolean | undefined
}

/**
 * Options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly capture: boolean
  readonly maxLength: number
  readonly mask: ((text: string, info: Info) => string) | undefined
  readonly redactKnownPatterns: boolean
}

/**
 * The default maximum length of a captured value.
 *
 * @since 0.1.0
 */
export const defaultMaxLength = 16_384

/**
 * Fills in the defaults.
 *
 * @since 0.1.0
 */
export const resolve = (options: Options = {}): Resolved => ({
  capture: options.capture ?? true,
  maxLength: Math.max(16, options.maxLength ?? defaultMaxLength),
  mask: options.mask,
  redactKnownPatterns: options.redactKnownPatterns ?? true
})

/**
 * Turns a value into the text stored on a span, or `undefined` to store nothing.
 *
 * @since 0.1.0
 */
export type Renderer = (value: unknown, info: Info) => string | undefined

/**
 * Cuts text to `maxLength` characters, saying how much was cut.
 *
 * @since 0.1.0
 */
export const truncate = (text: string, maxLength: number): string =>
  text.length <= maxLength ? text : `${text.slice(0, maxLength)}…[truncated ${text.length - maxLength} chars]`

/**
 * The renderer for a policy: strings as they are, other values as JSON, then redaction,
 * the mask and truncation. `undefined` when capture is off, so callers skip the work.
 *
 * @example
 * ```ts
 * import { SpanContent } from "@effect-dspy/telemetry"
 * const render = SpanContent.renderer({ mask: (text) => text.replaceAll(/\d{4}-\d{4}/g, "****") })
 * render?.({ card: "1234-5678" }, { span: "module", direction: "input", name: "Pay" }) // '{"card":"****"}'
 * ```
 *
 * @since 0.1.0
 */
export const renderer = (options: Options | Resolved = {}): Renderer | undefined => {
  const policy = resolve(options)
  if (!policy.capture) return undefined
  return (value, info) => {
    let text = typeof value === "string" ? value : safeJson(value)
    if (policy.redactKnownPatterns) text = redactPatterns(text)
    if (policy.mask !== undefined) text = policy.mask(text, info)
    return truncate(text, policy.maxLength)
  }
}

/** A chat message as Langfuse shows it. */
interface Message {
  readonly role: string
  readonly content: string
}

const partText = (part: Prompt.Part): string => {
  switch (part.type) {
    case "text":
    case "reasoning":
      return part.text
    case "tool-call":
      return `[tool-call ${part.name} ${safeJson(part.params)}]`
    case "tool-result":
      return `[tool-result ${part.name} ${safeJson(part.result)}]`
    case "file":
      return `[file ${part.mediaType}]`
  }
}

/**
 * The prompt as `{ role, content }` messages (the chat form Langfuse renders).
 *
 * @since 0.1.0
 */
export const promptMessages = (prompt: Prompt.Prompt): ReadonlyArray<Message> =>
  prompt.content.map((message): Message => ({
    role: message.role,
    content: typeof message.content === "string"
      ? message.content
      : message.content.map((part) => partText(part)).join("")
  }))

type ResponseParts = Parameters<SpanTransformer>[0]["response"]

/**
 * The reply text of a response (text parts or stream deltas) and its tool calls.
 *
 * @since 0.1.0
 */
export const responseText = (parts: ResponseParts): string => {
  let text = ""
  for (const part of parts) {
    if (part.type === "text") text += part.text
    else if (part.type === "text-delta") text += part.delta
    else if (part.type === "tool-call") text += `[tool-call ${part.name} ${safeJson(part.params)}]`
  }
  return text
}

const isGeneration = (span: Tracer.AnySpan): span is Tracer.Span =>
  span._tag === "Span" && span.attributes.get("langfuse.observation.type") === "generation"

/**
 * The content of one LM call, as it was: rendered when (and if) it is needed.
 *
 * @since 0.1.0
 */
export interface LmContent {
  readonly name: string
  readonly prompt: Prompt.Prompt
  readonly response: ResponseParts
}

/**
 * Renders an LM call's content to the two attributes.
 *
 * @since 0.1.0
 */
export const renderLmContent = (render: Renderer, content: LmContent): Record<string, string> => {
  const out: Record<string, string> = {}
  const input = render(promptMessages(content.prompt), { span: "lm", direction: "input", name: content.name })
  if (input !== undefined) out["langfuse.observation.input"] = input
  const output = render(responseText(content.response), { span: "lm", direction: "output", name: content.name })
  if (output !== undefined) out["langfuse.observation.output"] = output
  return out
}

/**
 * A span transformer for `@effect/ai` built from what to do with an LM call's content:
 * `onContent` gets the span the content belongs to (core's `chat {model}` span when the call
 * is inside one, else `@effect/ai`'s own span) and the unrendered content. Also copies the
 * response model and id onto that span.
 *
 * @since 0.1.0
 */
export const makeSpanTransformer = (
  onContent: ((span: Tracer.Span, content: LmContent) => void) | undefined
): SpanTransformer =>
(options) => {
  const inner = options.span
  const parent = Option.getOrUndefined(inner.parent)
  const target = parent !== undefined && isGeneration(parent) ? parent : inner
  if (target !== inner) inner.attribute("langfuse.observation.type", "span")
  for (const part of options.response) {
    if (part.type === "response-metadata") {
      if (Option.isSome(part.modelId)) target.attribute("gen_ai.response.model", part.modelId.value)
      if (Option.isSome(part.id)) target.attribute("gen_ai.response.id", part.id.value)
    }
  }
  if (onContent === undefined) return
  const name = String(target.attributes.get("gen_ai.request.model") ?? target.name)
  onContent(target, { name, prompt: options.prompt, response: options.response })
}

/**
 * A span transformer for `@effect/ai` that renders prompts and replies at once: onto core's
 * `chat {model}` span when the call is inside one (marking `@effect/ai`'s inner span as a plain
 * span, so that Langfuse does not count the generation twice), else onto `@effect/ai`'s span.
 * The telemetry layers use a deferred variant that renders in the exporter, only for spans
 * that are exported.
 *
 * @since 0.1.0
 */
export const spanTransformer = (render: Renderer | undefined): SpanTransformer =>
  makeSpanTransformer(
    render === undefined ? undefined : (span, content) => {
      for (const [key, value] of Object.entries(renderLmContent(render, content))) span.attribute(key, value)
    }
  )
