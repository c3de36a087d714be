/**
 * Scripted answers: plain functions from a parsed request to a fixed answer.
 *
 * Rules are tried in order; the first one that returns an answer wins, and
 * requests no rule answers get the simulator's generated answer.
 *
 * @example
 * ```ts
 * import { Script } from "@effect-dspy/simulator"
 *
 * // answers correctly only when a demo of the same kind is in the prompt
 * const rule = Script.when(
 *   (req) => req.demos.some((d) => d.inputs.kind === req.inputs.kind),
 *   Script.fields({ answer: "42" })
 * )
 * ```
 *
 * @since 0.1.0
 */

/**
 * A JSON schema as plain data.
 *
 * @since 0.1.0
 */
export type JsonSchema = { readonly [key: string]: unknown }

/**
 * A message of the request, reduced to its text.
 *
 * @since 0.1.0
 */
export interface Message {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly text: string
}

/**
 * A field listed in a field-marker prompt's system message.
 *
 * @since 0.1.0
 */
export interface Field {
  readonly name: string
  /** The short type label in parentheses, e.g. `string, one of: "a", "b"`. */
  readonly label: string
  readonly description: string | undefined
}

/**
 * An output field with its JSON schema (from the `# note:` line, or inferred from the label).
 *
 * @since 0.1.0
 */
export interface OutputField extends Field {
  readonly schema: JsonSchema
  /** Text fields are written raw; the others as JSON. */
  readonly isText: boolean
}

/**
 * A few-shot example found in the prompt: a user message of inputs followed by an assistant message of outputs.
 *
 * @since 0.1.0
 */
export interface Demo {
  readonly inputs: Readonly<Record<string, string>>
  readonly outputs: Readonly<Record<string, string>>
}

/**
 * A tool offered to the model.
 *
 * @since 0.1.0
 */
export interface Tool {
  readonly name: string
  readonly description: string | undefined
  readonly parameters: JsonSchema
}

/**
 * How the request constrains tool use.
 *
 * @since 0.1.0
 */
export type ToolChoice =
  | { readonly _tag: "Auto" }
  | { readonly _tag: "None" }
  /** A call is required; `among` restricts the tools when set. */
  | { readonly _tag: "Required"; readonly among: ReadonlyArray<string> | undefined }
  | { readonly _tag: "Tool"; readonly name: string }

/**
 * What the prompt asks for.
 * - `FieldMarkers`: DSPy chat-adapter sections ending with `[[ ## completed ## ]]`
 * - `JsonFields`: a field prompt asking for one JSON object of the output fields
 * - `Plain`: anything else
 *
 * @since 0.1.0
 */
export type PromptKind = "FieldMarkers" | "JsonFields" | "Plain"

/**
 * A request as the simulator understands it, whatever wire format it came in.
 *
 * @since 0.1.0
 */
export interface ParsedRequest {
  /** Where the request came from. */
  readonly route: "in-process" | "chat.completions" | "responses" | "messages"
  readonly messages: ReadonlyArray<Message>
  /** Text of the last user message ("" if none). */
  readonly lastUserText: string
  readonly kind: PromptKind
  /** The signature's instructions (`your objective is: ...`), if present. */
  readonly instructions: string | undefined
  readonly inputFields: ReadonlyArray<Field>
  readonly outputFields: ReadonlyArray<OutputField>
  /** Input values of the last user message that carries input fields. */
  readonly inputs: Readonly<Record<string, string>>
  readonly demos: ReadonlyArray<Demo>
  /** True when the request re-asks after an unparseable reply. */
  readonly isRetry: boolean
  /** The structured-output schema, when the request asks for one. */
  readonly responseSchema: JsonSchema | undefined
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
}

/**
 * A scripted answer.
 * - `Fields`: output field values (missing fields are generated); rendered as
 *   field markers, or as a JSON object for JSON requests
 * - `Text`: raw text, sent as is
 * - `Json`: a value sent as JSON text
 * - `ToolCalls`: tool calls with their arguments
 * - `Fail`: an HTTP error with this status (in-process: an `HttpResponseError`)
 *
 * @since 0.1.0
 */
export type Answer =
  | { readonly _tag: "Fields"; readonly values: Readonly<Record<string, unknown>> }
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Json"; readonly value: unknown }
  | {
    readonly _tag: "ToolCalls"
    readonly calls: ReadonlyArray<{ readonly name: string; readonly arguments: unknown }>
  }
  | { readonly _tag: "Fail"; readonly status: number; readonly message: string }

/**
 * A rule: returns an answer for the requests it handles, `undefined` otherwise.
 *
 * @since 0.1.0
 */
export type ScriptRule = (request: ParsedRequest) => Answer | undefined

/**
 * Output field values (missing ones are generated).
 *
 * @since 0.1.0
 */
export const fields = (values: Readonly<Record<string, unknown>>): Answer => ({ _tag: "Fields", values })

/**
 * Raw text, sent as is.
 *
 * @since 0.1.0
 */
export const text = (text: string): Answer => ({ _tag: "Text", text })

/**
 * A value sent as JSON text.
 *
 * @since 0.1.0
 */
export const json = (value: unknown): Answer => ({ _tag: "Json", value })

/**
 * One tool call.
 *
 * @since 0.1.0
 */
export const toolCall = (name: string, args: unknown): Answer => ({
  _tag: "ToolCalls",
  calls: [{ name, arguments: args }]
})

/**
 * An HTTP error with this status.
 *
 * @since 0.1.0
 */
export const fail = (status: number, message: string): Answer => ({ _tag: "Fail", status, message })

/**
 * A rule answering `answer` whenever `predicate` holds.
 *
 * @since 0.1.0
 */
export const when = (
  predicate: (request: ParsedRequest) => boolean,
  answer: Answer | ((request: ParsedRequest) => Answer)
): ScriptRule =>
(request) => predicate(request) ? (typeof answer === "function" ? answer(request) : answer) : undefined

/**
 * A rule matching requests whose input field `name` equals (or matches) `value`.
 *
 * @since 0.1.0
 */
export const whenInput = (
  name: string,
  value: string | RegExp,
  answer: Answer | ((request: ParsedRequest) => Answer)
): ScriptRule =>
  when((request) => {
    const v = request.inputs[name]
    return v !== undefined && (typeof value === "string" ? v === value : value.test(v))
  }, answer)

/**
 * A rule matching requests whose last user message contains `needle`.
 *
 * @since 0.1.0
 */
export const whenUserSays = (
  needle: string | RegExp,
  answer: Answer | ((request: ParsedRequest) => Answer)
): ScriptRule =>
  when(
    (request) => typeof needle === "string" ? request.lastUserText.includes(needle) : needle.test(request.lastUserText),
    answer
  )

/**
 * Runs the rules in order and returns the first answer.
 *
 * @since 0.1.0
 */
export const run = (rules: ReadonlyArray<ScriptRule>, request: ParsedRequest): Answer | undefined => {
  for (const rule of rules) {
    const answer = rule(request)
    if (answer !== undefined) return answer
  }
  return undefined
}
