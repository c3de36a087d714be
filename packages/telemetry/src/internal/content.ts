/**
 * Rendering of captured content into span attributes: which attribute each value goes to
 * (the GenAI conventions' names for LM and tool spans, Langfuse's for module spans), in which
 * shape, redacted, masked and cut to the maximum length as valid JSON.
 */
import * as Prompt from "@effect/ai/Prompt"
import { Redaction } from "@effect-dspy/core"
import type * as Redacted from "effect/Redacted"
import type * as ContentCapture from "../ContentCapture.js"
import { defaultMaxLength } from "../ContentCapture.js"
import * as GenAi from "../GenAi.js"
import { type Json, stringifyWithin, toJson, truncatedMarker } from "./json.js"
import * as Messages from "./messages.js"

/** How captured strings are cleaned and how long a value may be. */
export interface Policy {
  readonly maxLength: number
  readonly text: (text: string, info: ContentCapture.Info) => string
  /**
   * Rendered system instructions by their text: a module sends the same kilobytes of
   * instructions with every call, so they are redacted and serialized once.
   */
  readonly systemInstructions: Map<string, string>
}

const systemInstructionsCacheSize = 256

/** The policy of the options, or `undefined` when capture is off, as it is unless asked for (so nothing is kept). */
export const makePolicy = (
  options: ContentCapture.Options,
  secrets: ReadonlyArray<Redacted.Redacted<string>>
): Policy | undefined => {
  if (options.capture !== true) return undefined
  const maxLength = Math.max(64, options.maxLength ?? defaultMaxLength)
  const scrubber = options.redactKnownPatterns === false ? undefined : Redaction.makeScrubber(secrets)
  const mask = options.mask
  return {
    maxLength,
    text: (text, info) => {
      const redacted = scrubber === undefined ? text : scrubber.apply(text)
      return mask === undefined ? redacted : mask(redacted, info)
    },
    systemInstructions: new Map()
  }
}

/** Cuts plain text to `maxLength`, saying how much was cut. */
export const truncateText = (text: string, maxLength: number): string =>
  text.length <= maxLength ? text : text.slice(0, maxLength) + truncatedMarker(text.length - maxLength)

/** What a span captured, kept until it ends (when its finish reason is known). */
export interface Captured {
  readonly values: Array<{ readonly value: unknown; readonly info: ContentCapture.Info }>
  /** An `@effect/ai` call's prompt and response, from its span transformer. */
  call: { readonly prompt: Prompt.Prompt; readonly response: Messages.ResponseParts } | undefined
}

const json = (policy: Policy, info: ContentCapture.Info, value: unknown): string =>
  stringifyWithin(toJson(value, (s) => policy.text(s, info)) ?? null, policy.maxLength)

/** Values built of JSON data whose strings went through the policy already. */
const serialized = (policy: Policy, value: Json): string => stringifyWithin(value, policy.maxLength)

const plain = (policy: Policy, info: ContentCapture.Info, text: string): string =>
  truncateText(policy.text(text, info), policy.maxLength)

// A tool's result is "expected to be an object": JSON text is kept as JSON, other text as text.
const looksLikeJson = (text: string): boolean => {
  const first = text.trimStart()[0]
  if (first !== "{" && first !== "[") return false
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const firstFinishReason = (attributes: ReadonlyMap<string, unknown>): string => {
  const reasons = attributes.get(GenAi.Attributes.responseFinishReasons)
  return Array.isArray(reasons) && typeof reasons[0] === "string" ? reasons[0] : "stop"
}

const promptAttributes = (policy: Policy, info: ContentCapture.Info, prompt: Prompt.Prompt, out: Record<string, string>) => {
  const text = (s: string) => policy.text(s, info)
  const { messages, system } = Messages.fromPrompt(prompt, text)
  if (system.length > 0) {
    const key = system.length === 1 ? system[0]! : system.join("\u0000")
    let rendered = policy.systemInstructions.get(key)
    if (rendered === undefined) {
      rendered = serialized(policy, system.map((content) => ({ type: "text", content: text(content) })))
      if (policy.systemInstructions.size >= systemInstructionsCacheSize) policy.systemInstructions.clear()
      policy.systemInstructions.set(key, rendered)
    }
    out[GenAi.Attributes.systemInstructions] = rendered
  }
  out[GenAi.Attributes.inputMessages] = serialized(policy, messages as unknown as Json)
}

/** The attributes for what a span captured; `attributes` are the span's own (its finish reason). */
export const render = (
  policy: Policy,
  captured: Captured,
  attributes: ReadonlyMap<string, unknown>
): Record<string, string> => {
  const out: Record<string, string> = {}
  if (captured.call !== undefined) {
    const info: ContentCapture.Info = { span: "lm", direction: "input", name: "" }
    promptAttributes(policy, info, captured.call.prompt, out)
    const output = { ...info, direction: "output" } as const
    out[GenAi.Attributes.outputMessages] = serialized(policy, Messages.fromResponse(captured.call.response, (s) => policy.text(s, output)) as unknown as Json)
  }
  for (const { info, value } of captured.values) {
    switch (info.span) {
      case "lm":
        if (info.direction === "input" && Prompt.isPrompt(value)) promptAttributes(policy, info, value, out)
        else if (info.direction === "output" && typeof value === "string") {
          const messages = Messages.fromText(value, firstFinishReason(attributes), (s) => policy.text(s, info))
          out[GenAi.Attributes.outputMessages] = serialized(policy, messages as unknown as Json)
        } else out[`langfuse.observation.${info.direction}`] = json(policy, info, value)
        break
      case "tool": {
        const key = info.direction === "input" ? GenAi.Attributes.toolCallArguments : GenAi.Attributes.toolCallResult
        out[key] = typeof value === "string"
          ? looksLikeJson(value) ? json(policy, info, JSON.parse(value)) : plain(policy, info, value)
          : json(policy, info, value)
        break
      }
      case "module":
        out[`langfuse.observation.${info.direction}`] = typeof value === "string" ? plain(policy, info, value) : json(policy, info, value)
        break
    }
  }
  return out
}
