/**
 * The events modules publish on the `EventBus`. Names are dotted (`lm.end`, `module.start`) so
 * that subscribers can pick families with wildcards (`lm.*`).
 *
 * @since 0.1.0
 */
import type * as Usage from "./Usage.js"

interface Base {
  /** Milliseconds since the epoch, from Effect's Clock (TestClock in tests). */
  readonly timestamp: number
}

/**
 * A module call began.
 *
 * @since 0.1.0
 */
export interface ModuleStart extends Base {
  readonly type: "module.start"
  readonly callId: number
  readonly module: string
  readonly kind: string
  readonly signature: string
}

/**
 * A module call ended, successfully or not.
 *
 * @since 0.1.0
 */
export interface ModuleEnd extends Base {
  readonly type: "module.end"
  readonly callId: number
  readonly module: string
  readonly kind: string
  readonly signature: string
  readonly durationMillis: number
  readonly success: boolean
  readonly usage: Usage.Usage
  readonly error?: string | undefined
}

/**
 * An LM call began.
 *
 * @since 0.1.0
 */
export interface LmStart extends Base {
  readonly type: "lm.start"
  readonly callId: number
  readonly module: string
  readonly signature: string
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly attempt: number
}

/**
 * An LM call returned a reply.
 *
 * @since 0.1.0
 */
export interface LmEnd extends Base {
  readonly type: "lm.end"
  readonly callId: number
  readonly module: string
  readonly signature: string
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly durationMillis: number
  readonly usage: Usage.Usage
  readonly finishReason: string
  /**
   * Whether the reply came from `LmCache` (then `usage` counts a cached call, no tokens).
   *
   * @since 0.2.0
   */
  readonly cached: boolean
}

/**
 * An LM call failed (after the provider's own retries).
 *
 * @since 0.1.0
 */
export interface LmError extends Base {
  readonly type: "lm.error"
  readonly callId: number
  readonly module: string
  readonly signature: string
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly durationMillis: number
  readonly errorTag: string
  readonly message: string
}

/**
 * An LM call is being retried by a resilience policy.
 *
 * @since 0.1.0
 */
export interface LmRetry extends Base {
  readonly type: "lm.retry"
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly attempt: number
  readonly errorTag: string
  readonly delayMillis: number
}

/**
 * A reply could not be read by the adapter.
 *
 * @since 0.1.0
 */
export interface ParseFailure extends Base {
  readonly type: "parse.failure"
  readonly module: string
  readonly signature: string
  readonly adapter: string
  readonly attempt: number
  readonly issue: string
  readonly raw: string
}

/**
 * The model is asked again after a parse failure.
 *
 * @since 0.1.0
 */
export interface ParseRetry extends Base {
  readonly type: "parse.retry"
  readonly module: string
  readonly signature: string
  readonly attempt: number
}

/**
 * ReAct calls a tool.
 *
 * @since 0.1.0
 */
export interface ToolCall extends Base {
  readonly type: "tool.call"
  readonly module: string
  readonly tool: string
  readonly args: unknown
}

/**
 * A tool returned (or failed, with `success: false`); the observation is what the model sees.
 *
 * @since 0.1.0
 */
export interface ToolResult extends Base {
  readonly type: "tool.result"
  readonly module: string
  readonly tool: string
  readonly success: boolean
  readonly durationMillis: number
  readonly observation: string
}

/**
 * Optimizers and evaluation report progress under `optimization.*` names.
 *
 * @since 0.1.0
 */
export interface Optimization extends Base {
  readonly type: `optimization.${string}`
  readonly optimizer: string
  readonly data: Readonly<Record<string, unknown>>
}

/**
 * Every event the library publishes.
 *
 * @since 0.1.0
 */
export type DspyEvent =
  | ModuleStart
  | ModuleEnd
  | LmStart
  | LmEnd
  | LmError
  | LmRetry
  | ParseFailure
  | ParseRetry
  | ToolCall
  | ToolResult
  | Optimization

/**
 * The name of every event type.
 *
 * @since 0.1.0
 */
export type EventType = DspyEvent["type"]
