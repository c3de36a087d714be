/**
 * Content capture: whether and how prompts, replies, module inputs and outputs and tool
 * arguments and results are recorded on spans. It is off unless asked for (`capture: true`,
 * or `EFFECT_DSPY_CAPTURE_CONTENT=true` with the layers that read the environment), as the
 * GenAI conventions ask: prompts and replies can hold personal data. LM spans carry `gen_ai.input.messages`,
 * `gen_ai.system_instructions` and `gen_ai.output.messages` in the GenAI conventions' JSON
 * shapes, tool spans `gen_ai.tool.call.arguments` / `.result`, module spans
 * `langfuse.observation.input` / `.output`. Every string in them goes through core's
 * `Redaction` (API keys, bearer tokens, credentials in URLs) and the `mask` you give; a value
 * longer than `maxLength` has its strings cut, so it stays valid JSON.
 *
 * @since 0.2.0
 */

/**
 * Which span a value belongs to, and whether it went in or came out.
 *
 * @since 0.2.0
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
 * @example
 * ```ts
 * import { ContentCapture, Telemetry } from "@effect-dspy/telemetry"
 *
 * const content: ContentCapture.Options = {
 *   capture: true,
 *   maxLength: 4096,
 *   mask: (text) => text.replaceAll(/\b\d{4}-\d{4}-\d{4}-\d{4}\b/g, "****")
 * }
 * const TracingLive = Telemetry.layerOtlp({ url: "http://localhost:4318/v1/traces", content })
 * ```
 *
 * @since 0.2.0
 */
export interface Options {
  /**
   * Record prompts and outputs on spans (default `false`: content is opt-in). When off, failed
   * spans carry only the error's type as their status and exception message (error messages can
   * quote content, as a parse error quotes the model's reply), and a stack trace of frames only.
   */
  readonly capture?: boolean | undefined
  /** Characters kept per attribute; longer values have their strings cut (default 16384). */
  readonly maxLength?: number | undefined
  /** Redacts more in every captured string, after the built-in redaction (e-mail addresses, customer ids). */
  readonly mask?: ((text: string, info: Info) => string) | undefined
  /** Apply core's `Redaction` rules for API keys, tokens and URL credentials (default `true`). */
  readonly redactKnownPatterns?: boolean | undefined
}

/**
 * The default maximum length of a captured attribute value.
 *
 * @since 0.2.0
 */
export const defaultMaxLength = 16_384
