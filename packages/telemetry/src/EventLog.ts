/**
 * A subscriber that turns core's events into structured log lines through Effect's `Logger`:
 * one line per event, its fields as log annotations, failures at a higher level.
 *
 * It listens on the `EventBus` in context. Core's default bus is disabled (nobody listens, so
 * modules build no events), so provide one live bus for the whole program, for example
 * `EventLog.layer().pipe(Layer.provideMerge(EventBus.layer))`; the layer logs a warning when it
 * finds only the disabled bus.
 *
 * @since 0.1.0
 */
import { type DspyEvent, EventBus, Redaction } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import type * as Redacted from "effect/Redacted"
import { truncateText } from "./internal/content.js"
import { safeJson } from "./internal/json.js"
import * as TelemetryConfig from "./TelemetryConfig.js"

/**
 * Options of the event log.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Level of ordinary events (default `Info`). */
  readonly level?: LogLevel.Literal | undefined
  /** Level of failures: failed modules, LM errors and retries, parse failures, failed tools (default `Warning`). */
  readonly failureLevel?: LogLevel.Literal | undefined
  /** Which events, e.g. `lm.*` (default `*`). */
  readonly pattern?: string | undefined
  /** Log tool arguments, observations, unreadable replies and error messages (default `true`). */
  readonly content?: boolean | undefined
  /** Characters kept per content field (default 1000). */
  readonly maxContentLength?: number | undefined
  /** Redacts more in content fields, after the built-in API-key patterns. */
  readonly mask?: ((text: string) => string) | undefined
  /** Events buffered for the logger before the oldest are dropped (default 1024). */
  readonly bufferSize?: number | undefined
  /**
   * Values never to log (API keys), replaced wherever they appear; the values of
   * `TelemetryConfig.secretEnvNames` are added from the environment.
   */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/**
 * One event as a log line.
 *
 * @since 0.1.0
 */
export interface Line {
  readonly message: string
  readonly failure: boolean
  readonly annotations: Readonly<Record<string, unknown>>
}

const lm = (provider: string | undefined, model: string | undefined) => `${provider ?? "unknown"}/${model ?? "unknown"}`

/**
 * Describes an event as a log line. `content` renders (or drops, when it returns undefined)
 * the fields that carry prompts, replies or tool data.
 *
 * @since 0.1.0
 */
export const describe = (event: DspyEvent.DspyEvent, content: (value: unknown) => string | undefined): Line => {
  const base = { event: event.type }
  const withContent = (fields: Record<string, unknown>, extra: Record<string, unknown>) => {
    const out: Record<string, unknown> = { ...base, ...fields }
    for (const [key, value] of Object.entries(extra)) {
      const text = content(value)
      if (text !== undefined) out[key] = text
    }
    return out
  }
  switch (event.type) {
    case "module.start":
      return {
        message: `module.start ${event.kind}(${event.module})`,
        failure: false,
        annotations: { ...base, callId: event.callId, module: event.module, kind: event.kind, signature: event.signature }
      }
    case "module.end":
      return {
        message: `module.end ${event.kind}(${event.module}) ${event.success ? "ok" : `failed: ${event.error ?? "unknown"}`} in ${event.durationMillis}ms`,
        failure: !event.success,
        annotations: {
          ...base,
          callId: event.callId,
          module: event.module,
          kind: event.kind,
          signature: event.signature,
          durationMillis: event.durationMillis,
          success: event.success,
          ...(event.error === undefined ? {} : { error: event.error }),
          lmCalls: event.usage.lmCalls,
          inputTokens: event.usage.inputTokens,
          outputTokens: event.usage.outputTokens
        }
      }
    case "lm.start":
      return {
        message: `lm.start ${lm(event.provider, event.model)} for ${event.module} (attempt ${event.attempt})`,
        failure: false,
        annotations: {
          ...base,
          callId: event.callId,
          module: event.module,
          signature: event.signature,
          provider: event.provider,
          model: event.model,
          attempt: event.attempt
        }
      }
    case "lm.end":
      return {
        message: `lm.end ${lm(event.provider, event.model)} ${event.durationMillis}ms ${event.usage.inputTokens}+${event.usage.outputTokens} tokens (${event.finishReason})`,
        failure: false,
        annotations: {
          ...base,
          callId: event.callId,
          module: event.module,
          signature: event.signature,
          provider: event.provider,
          model: event.model,
          durationMillis: event.durationMillis,
          inputTokens: event.usage.inputTokens,
          outputTokens: event.usage.outputTokens,
          finishReason: event.finishReason
        }
      }
    case "lm.error":
      return {
        message: `lm.error ${lm(event.provider, event.model)} ${event.errorTag} after ${event.durationMillis}ms`,
        failure: true,
        annotations: withContent({
          callId: event.callId,
          module: event.module,
          signature: event.signature,
          provider: event.provider,
          model: event.model,
          durationMillis: event.durationMillis,
          errorTag: event.errorTag
        }, { errorMessage: event.message })
      }
    case "lm.retry":
      return {
        message: `lm.retry ${lm(event.provider, event.model)} attempt ${event.attempt} after ${event.errorTag}, in ${event.delayMillis}ms`,
        failure: true,
        annotations: {
          ...base,
          provider: event.provider,
          model: event.model,
          attempt: event.attempt,
          errorTag: event.errorTag,
          delayMillis: event.delayMillis
        }
      }
    case "parse.failure":
      return {
        message: `parse.failure ${event.signature} (${event.adapter}, attempt ${event.attempt}): ${event.issue}`,
        failure: true,
        annotations: withContent({
          module: event.module,
          signature: event.signature,
          adapter: event.adapter,
          attempt: event.attempt,
          issue: event.issue
        }, { raw: event.raw })
      }
    case "parse.retry":
      return {
        message: `parse.retry ${event.signature} attempt ${event.attempt}`,
        failure: false,
        annotations: { ...base, module: event.module, signature: event.signature, attempt: event.attempt }
      }
    case "tool.call":
      return {
        message: `tool.call ${event.tool} from ${event.module}`,
        failure: false,
        annotations: withContent({ module: event.module, tool: event.tool }, { args: event.args })
      }
    case "tool.result":
      return {
        message: `tool.result ${event.tool} ${event.success ? "ok" : "failed"} in ${event.durationMillis}ms`,
        failure: !event.success,
        annotations: withContent({
          module: event.module,
          tool: event.tool,
          success: event.success,
          durationMillis: event.durationMillis
        }, { observation: event.observation })
      }
    default:
      return {
        message: `${event.type} ${event.optimizer}`,
        failure: false,
        annotations: withContent({ optimizer: event.optimizer }, { data: event.data })
      }
  }
}

/**
 * Renders content fields for logs: JSON, credentials redacted (core's `Redaction`), masked, truncated.
 *
 * @since 0.1.0
 */
export const contentRenderer = (options: Options = {}): (value: unknown) => string | undefined => {
  if (options.content === false) return () => undefined
  const maxLength = Math.max(16, options.maxContentLength ?? 1000)
  const mask = options.mask
  return (value) => {
    let text = Redaction.text(typeof value === "string" ? value : safeJson(value))
    if (mask !== undefined) text = mask(text)
    return truncateText(text, maxLength)
  }
}

/**
 * Logs every event matching `pattern` for the lifetime of the layer.
 *
 * @example
 * ```ts
 * import { EventBus } from "@effect-dspy/core"
 * import { EventLog } from "@effect-dspy/telemetry"
 * import { Layer } from "effect"
 * const LogsLive = EventLog.layer({ level: "Debug", pattern: "lm.*" }).pipe(Layer.provideMerge(EventBus.layer))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<never> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const level = LogLevel.fromLiteral(options.level ?? "Info")
    const failureLevel = LogLevel.fromLiteral(options.failureLevel ?? "Warning")
    const content = contentRenderer(options)
    const pattern = options.pattern ?? "*"
    const fromEnv = yield* Effect.orElseSucceed(TelemetryConfig.secrets, () => [])
    const scrub = Redaction.makeScrubber([...(options.secrets ?? []), ...fromEnv])
    // Messages and fields can carry provider error text: scrub them all, not only content.
    const clean = (text: string) => scrub.apply(text)
    yield* EventBus.on(pattern, (event) => {
      const line = describe(event, content)
      const annotations: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(line.annotations)) {
        annotations[key] = typeof value === "string" ? clean(value) : value
      }
      return Effect.logWithLevel(line.failure ? failureLevel : level, clean(line.message)).pipe(
        Effect.annotateLogs(annotations)
      )
    }, { bufferSize: options.bufferSize })
    const bus = yield* EventBus.EventBus
    if (!bus.active()) {
      yield* Effect.logWarning(
        "EventLog: the EventBus in context is core's disabled default, so no events will be logged; " +
          "provide EventBus.layer, e.g. EventLog.layer().pipe(Layer.provideMerge(EventBus.layer))"
      )
    }
  }))
