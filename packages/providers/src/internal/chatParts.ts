/**
 * Chat-completions replies (whole, or as streamed chunks) as `@effect/ai` response parts, and the
 * verdict on how the reply ended: a refusal, a reply cut by the token limit, a content filter, a
 * `finish_reason: "error"` or an `error` object each end in their own `LmError`.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as LmError from "../LmError.js"
import type { WireReply, WireToolCall } from "./chatWire.js"
import { argumentsText, contentOf, finishReasonOf, hasUsage, metadataOf, usageOf } from "./chatWire.js"
import { type Segment, ThinkSplitter } from "./thinkTags.js"

/** What reading one reply needs. @internal */
export interface ReadOptions {
  readonly provider: string
  /** Move `<think>` blocks in the content to reasoning. */
  readonly thinkTags: boolean
  /** The model opens its `<think>` block in the prompt. */
  readonly startsInReasoning: boolean
  readonly nowMillis: number
  readonly scrub: (text: string) => string
}

const metadataKey = "openai-compatible"

// How a reply ended, when that is a failure.
const verdict = (
  options: ReadOptions,
  ended: { readonly reason: string | null | undefined; readonly refusal: string; readonly text: string; readonly filter: unknown }
): LmError.LmError | undefined => {
  const { provider, scrub } = options
  if (ended.refusal !== "") return new LmError.Refused({ provider, description: scrub(ended.refusal) })
  switch (ended.reason) {
    case "length":
    case "max_tokens":
      return new LmError.Truncated({
        provider,
        partialText: ended.text,
        description: `the reply reached the output token limit (finish_reason "${ended.reason}") after ${ended.text.length} characters`
      })
    case "content_filter":
      return new LmError.ContentFiltered({
        provider,
        partialText: ended.text,
        description: `a content filter stopped the reply${filtered(ended.filter)}`
      })
  }
  return undefined
}

// The categories a content filter flagged (Azure's `content_filter_results`).
const filtered = (results: unknown): string => {
  if (typeof results !== "object" || results === null) return ""
  const flagged = Object.entries(results).filter(([, r]) =>
    typeof r === "object" && r !== null && "filtered" in r && r.filtered === true
  ).map(([name, r]) => "severity" in r && typeof r.severity === "string" ? `${name} (${r.severity})` : name)
  return flagged.length === 0 ? "" : `: ${flagged.join(", ")}`
}

const inBand = (options: ReadOptions, error: unknown): LmError.LmError =>
  LmError.fromReply({ provider: options.provider, body: { error }, nowMillis: options.nowMillis, scrub: options.scrub })

const parseArguments = (options: ReadOptions, name: string, args: string): unknown | LmError.LmError => {
  try {
    return Tool.unsafeSecureJsonParse(args === "" ? "{}" : args)
  } catch {
    return new LmError.MalformedResponse({
      provider: options.provider,
      fromWire: true,
      description: `the arguments of a call to tool '${name}' are not valid JSON: ${args.slice(0, 200)}`
    })
  }
}

const finishMetadata = (otherChoices: ReadonlyArray<string>, logprobs: unknown) => {
  const data: Record<string, unknown> = {}
  if (logprobs !== undefined && logprobs !== null) data.logprobs = logprobs
  if (otherChoices.length > 0) data.choices = otherChoices
  return Object.keys(data).length === 0 ? {} : { metadata: { [metadataKey]: data } }
}

/**
 * A whole reply as parts, or the failure it ends in.
 *
 * @internal
 */
export const partsOfReply = (
  reply: WireReply,
  options: ReadOptions
): { readonly parts: Array<Response.PartEncoded>; readonly implicitOpen: boolean } | LmError.LmError => {
  if (reply.error !== undefined && reply.error !== null && !(reply.choices?.length)) return inBand(options, reply.error)
  const choices = reply.choices ?? []
  const choice = choices.find((c) => (c.index ?? 0) === 0) ?? choices[0]
  const message = choice?.message ?? choice?.delta
  if (choice === undefined || message === undefined || message === null) {
    return new LmError.MalformedResponse({ provider: options.provider, fromWire: true, description: "the reply has no choices" })
  }
  const parts: Array<Response.PartEncoded> = []
  const metadata = metadataOf(reply)
  if (metadata !== undefined) parts.push(metadata)
  const content = contentOf(message)
  let reasoning = content.reasoning
  let text = content.text
  let implicitOpen = false
  if (options.thinkTags) {
    const splitter = new ThinkSplitter(options.startsInReasoning)
    let answer = ""
    for (const segment of [...splitter.push(text), ...splitter.end()]) {
      if (segment.reasoning) reasoning += segment.text
      else answer += segment.text
    }
    text = answer
    implicitOpen = splitter.implicitOpen
  }
  if (choice.finish_reason === "error") return inBand(options, reply.error ?? { message: "the model stopped with an error" })
  const failure = verdict(options, {
    reason: choice.finish_reason,
    refusal: message.refusal ?? "",
    text,
    filter: choice.content_filter_results
  })
  if (failure !== undefined) return failure
  if (reasoning !== "") parts.push({ type: "reasoning", text: reasoning })
  if (text !== "") parts.push({ type: "text", text })
  const calls = message.tool_calls ?? []
  for (const [i, call] of calls.entries()) {
    const name = call.function?.name ?? ""
    const params = parseArguments(options, name, argumentsText(call.function?.arguments))
    if (LmError.isLmError(params)) return params
    parts.push({ type: "tool-call", id: call.id ?? `call_${i}`, name, params })
  }
  const others = choices.filter((c) => c !== choice).map((c) => contentOf(c.message ?? {}).text)
  parts.push({
    type: "finish",
    reason: finishReasonOf(choice.finish_reason, calls.length > 0),
    usage: usageOf(reply),
    ...finishMetadata(others, choice.logprobs)
  })
  return { parts, implicitOpen }
}

interface ActiveCall {
  readonly id: string
  name: string
  args: string
}

/**
 * A streamed reply, chunk by chunk: text, reasoning and tool-call deltas as parts, then the
 * finish part (or the failure the reply ended in) at the end.
 *
 * Tool-call deltas: a delta with a new call id at an index already in use starts a new call
 * (Ollama numbers every call 0); a delta without an index continues the call its id names, or the
 * last call when it has no id either, or else starts one of its own (Gemini).
 *
 * @internal
 */
export class ChatStreamState {
  private readonly options: ReadOptions
  private readonly splitter: ThinkSplitter | undefined
  private metadataSent = false
  private textOpen = false
  private reasoningOpen = false
  private readonly calls: Array<ActiveCall> = []
  private readonly byIndex = new Map<number, ActiveCall>()
  private reason: string | null | undefined = undefined
  private refusal = ""
  private text = ""
  private filter: unknown = undefined
  private logprobs: Array<unknown> = []
  private usage: typeof Response.Usage.Encoded = { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined }
  private readonly others = new Map<number, string>()
  /** The server finished its reply (a finish reason or `[DONE]`). */
  finished = false

  constructor(options: ReadOptions) {
    this.options = options
    this.splitter = options.thinkTags ? new ThinkSplitter(options.startsInReasoning) : undefined
  }

  get implicitOpen(): boolean {
    return this.splitter?.implicitOpen ?? false
  }

  /** Reads one chunk into parts; a failure the chunk reports is returned. */
  onChunk(chunk: WireReply, parts: Array<Response.StreamPartEncoded>): LmError.LmError | undefined {
    if (chunk.error !== undefined && chunk.error !== null) return inBand(this.options, chunk.error)
    if (!this.metadataSent) {
      const metadata = metadataOf(chunk)
      if (metadata !== undefined) {
        this.metadataSent = true
        parts.push(metadata)
      }
    }
    if (hasUsage(chunk)) this.usage = usageOf(chunk)
    for (const choice of chunk.choices ?? []) {
      const index = choice.index ?? 0
      const delta = choice.delta ?? choice.message
      if (index !== 0) {
        if (delta) this.others.set(index, (this.others.get(index) ?? "") + contentOf(delta).text)
        continue
      }
      if (delta) {
        const { reasoning, text } = contentOf(delta)
        if (reasoning !== "") this.reasoningDelta(reasoning, parts)
        if (text !== "") {
          const segments: Array<Segment> = this.splitter ? this.splitter.push(text) : [{ reasoning: false, text }]
          this.segments(segments, parts)
        }
        if (delta.refusal) this.refusal += delta.refusal
        for (const call of delta.tool_calls ?? []) this.toolCallDelta(call, parts)
      }
      if (choice.logprobs && typeof choice.logprobs === "object" && "content" in choice.logprobs && Array.isArray(choice.logprobs.content)) {
        this.logprobs.push(...choice.logprobs.content)
      }
      if (choice.content_filter_results !== undefined) this.filter = choice.content_filter_results
      if (choice.finish_reason) {
        this.reason = choice.finish_reason
        this.finished = true
        if (choice.finish_reason === "error") return inBand(this.options, { message: "the model stopped with an error" })
      }
    }
    return undefined
  }

  /** Closes the open parts and adds the tool calls and the finish part, or the failure the reply ended in. */
  finish(parts: Array<Response.StreamPartEncoded>): LmError.LmError | undefined {
    if (this.splitter) this.segments(this.splitter.end(), parts)
    const failure = verdict(this.options, { reason: this.reason, refusal: this.refusal, text: this.text, filter: this.filter })
    if (failure !== undefined) return failure
    if (this.reasoningOpen) parts.push({ type: "reasoning-end", id: "reasoning" })
    if (this.textOpen) parts.push({ type: "text-end", id: "text" })
    for (const call of this.calls) {
      const params = parseArguments(this.options, call.name, call.args)
      if (LmError.isLmError(params)) return params
      parts.push({ type: "tool-params-end", id: call.id })
      parts.push({ type: "tool-call", id: call.id, name: call.name, params })
    }
    parts.push({
      type: "finish",
      reason: finishReasonOf(this.reason, this.calls.length > 0),
      usage: this.usage,
      ...finishMetadata([...this.others.values()], this.logprobs.length === 0 ? undefined : { content: this.logprobs })
    })
    return undefined
  }

  private segments(segments: ReadonlyArray<Segment>, parts: Array<Response.StreamPartEncoded>): void {
    for (const segment of segments) {
      if (segment.reasoning) {
        this.reasoningDelta(segment.text, parts)
        continue
      }
      if (this.reasoningOpen) {
        this.reasoningOpen = false
        parts.push({ type: "reasoning-end", id: "reasoning" })
      }
      if (!this.textOpen) {
        this.textOpen = true
        parts.push({ type: "text-start", id: "text" })
      }
      this.text += segment.text
      parts.push({ type: "text-delta", id: "text", delta: segment.text })
    }
  }

  private reasoningDelta(delta: string, parts: Array<Response.StreamPartEncoded>): void {
    if (!this.reasoningOpen) {
      this.reasoningOpen = true
      parts.push({ type: "reasoning-start", id: "reasoning" })
    }
    parts.push({ type: "reasoning-delta", id: "reasoning", delta })
  }

  private toolCallDelta(call: WireToolCall, parts: Array<Response.StreamPartEncoded>): void {
    const id = call.id ?? undefined
    const index = call.index ?? undefined
    let active = index !== undefined
      ? this.byIndex.get(index)
      : id !== undefined
      ? this.calls.find((c) => c.id === id)
      : this.calls[this.calls.length - 1]
    if (active !== undefined && id !== undefined && active.id !== id) active = undefined
    if (active === undefined) {
      active = { id: id ?? `call_${this.calls.length}`, name: call.function?.name ?? "", args: "" }
      this.calls.push(active)
      if (index !== undefined) this.byIndex.set(index, active)
      parts.push({ type: "tool-params-start", id: active.id, name: active.name, providerExecuted: false })
    } else if (call.function?.name && active.name === "") {
      active.name = call.function.name
    }
    const args = argumentsText(call.function?.arguments)
    if (args !== "") {
      active.args += args
      parts.push({ type: "tool-params-delta", id: active.id, delta: args })
    }
  }
}
