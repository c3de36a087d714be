/**
 * `History`: the last LM calls of a program (prompt, reply, usage, module), kept in memory by a
 * Layer, and `History.inspect`, which renders them as DSPy's `inspect_history` does. Without the
 * layer nothing is kept.
 *
 * @since 0.2.0
 */
import type * as Prompt from "@effect/ai/Prompt"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Usage from "./Usage.js"

/**
 * One LM call.
 *
 * @since 0.2.0
 */
export interface Entry {
  /** When the call ended, in milliseconds since the epoch (Effect's `Clock`). */
  readonly timestamp: number
  /** The module (predictor) that made the call, and its signature. */
  readonly module: string
  readonly signature: string
  readonly provider: string | undefined
  readonly model: string | undefined
  /** The messages sent. */
  readonly prompt: Prompt.Prompt
  /** The reply's text. */
  readonly reply: string
  readonly usage: Usage.Usage
  /** Whether the reply came from `LmCache`. */
  readonly cached: boolean
}

/**
 * The calls kept.
 *
 * @since 0.2.0
 */
export interface Service {
  /** Keeps a call (the oldest is dropped past the layer's size). */
  readonly record: (entry: Entry) => void
  /** The calls kept, oldest first. */
  readonly entries: Effect.Effect<ReadonlyArray<Entry>>
  readonly clear: Effect.Effect<void>
}

/**
 * The history in force: none unless `History.layer` provides one (then every LM call a module
 * makes is kept).
 *
 * @since 0.2.0
 */
export class History extends Context.Reference<History>()("@effect-dspy/core/History", {
  defaultValue: (): Service | undefined => undefined
}) {}

/**
 * A history of at most `size` calls (default 100).
 *
 * @since 0.2.0
 */
export const make = (size = 100): Service => {
  const limit = Math.max(1, size)
  let kept: Array<Entry> = []
  return {
    record: (entry) => {
      kept.push(entry)
      if (kept.length > limit) kept = kept.slice(kept.length - limit)
    },
    entries: Effect.sync(() => kept.slice()),
    clear: Effect.sync(() => {
      kept = []
    })
  }
}

/**
 * Keeps the last `size` LM calls of the program it is provided to (default 100).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { History, Predict, Signature } from "@effect-dspy/core"
 * import { Console, Effect } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const program = Effect.gen(function*() {
 *   yield* qa({ question: "What is 2 + 2?" })
 *   yield* Console.log(yield* History.inspect(1))
 * }).pipe(Effect.provide(History.layer({ size: 10 })))
 * ```
 */
export const layer = (options?: { readonly size?: number | undefined }): Layer.Layer<never> =>
  Layer.sync(History, () => make(options?.size))

/**
 * The calls kept, oldest first (none without `History.layer`).
 *
 * @since 0.2.0
 */
export const entries: Effect.Effect<ReadonlyArray<Entry>> = Effect.flatMap(
  History,
  (history) => history === undefined ? Effect.succeed([]) : history.entries
)

/**
 * Options of `inspect`.
 *
 * @since 0.2.0
 */
export interface InspectOptions {
  /** ANSI colors, as DSPy prints to a terminal (default false). */
  readonly color?: boolean | undefined
}

const paint = (code: number, on: boolean) => (text: string) => on ? `\x1b[${code}m${text}\x1b[0m` : text

const capitalized = (role: string) => `${role.charAt(0).toUpperCase()}${role.slice(1)}`

const fileText = (part: Prompt.FilePart): string => {
  if (part.data instanceof URL) return `<${part.mediaType.startsWith("image/") ? "image_url" : "file_url"}: ${part.data.href}>`
  const length = typeof part.data === "string" ? part.data.length : part.data.byteLength
  return `<${part.mediaType} base64, <${part.mediaType.startsWith("image/") ? "IMAGE" : "FILE"} BASE 64 ENCODED(${length})>>`
}

const jsonText = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** The lines of one message, as DSPy prints them. */
const messageLines = (message: Prompt.Message, blue: (t: string) => string, green: (t: string) => string): Array<string> => {
  if (typeof message.content === "string") return [message.content.trim()]
  const lines: Array<string> = []
  const calls: Array<string> = []
  for (const part of message.content) {
    switch (part.type) {
      case "text":
      case "reasoning":
        lines.push(part.text.trim())
        break
      case "file":
        lines.push(blue(fileText(part)))
        break
      case "tool-call":
        calls.push(green(`${part.name}: ${jsonText(part.params)}`))
        break
      case "tool-result":
        lines.push(`${part.name}: ${jsonText(part.result)}`)
        break
    }
  }
  return calls.length === 0 ? lines : [...lines, "Tool calls:", ...calls]
}

/**
 * Renders entries as DSPy's `inspect_history` prints them: for each call its time, each message
 * by role, then the response; here also the module, the model, the tokens and whether the reply
 * came from the cache.
 *
 * @since 0.2.0
 */
export const render = (calls: ReadonlyArray<Entry>, options?: InspectOptions): string => {
  const on = options?.color === true
  const blue = paint(34, on)
  const red = paint(31, on)
  const green = paint(32, on)
  const out: Array<string> = []
  for (const call of calls) {
    const model = [call.provider, call.model].filter((s) => s !== undefined).join("/")
    const tokens = `${call.usage.inputTokens} in, ${call.usage.outputTokens} out`
    out.push("\n\n\n")
    out.push(blue(`[${new Date(call.timestamp).toISOString()}]`) +
      ` ${call.module} (${call.signature})${model === "" ? "" : ` · ${model}`} · ${call.cached ? "cache hit" : tokens}`)
    for (const message of call.prompt.content) {
      out.push(red(`${capitalized(message.role)} message:`))
      out.push(...messageLines(message, blue, green))
      out.push("\n")
    }
    out.push(red("Response:"))
    out.push(green(call.reply.trim()))
  }
  out.push("\n\n\n")
  return out.join("\n")
}

/**
 * The last `n` calls kept (default 1), rendered by `render`: DSPy's `inspect_history`. Print it
 * with `Console.log`.
 *
 * @since 0.2.0
 */
export const inspect = (n = 1, options?: InspectOptions): Effect.Effect<string> =>
  Effect.map(entries, (all) => render(n <= 0 ? [] : all.slice(-n), options))
