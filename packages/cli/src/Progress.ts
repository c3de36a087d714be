/**
 * A one-line live progress bar for a terminal: done/total, rate, ETA, failures, requests in
 * flight, queue depth and the concurrency limit. Written to stderr, redrawn in place; without a
 * terminal (a log file, CI), the same line printed every few seconds (`startPlain`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as BatchMetrics from "@effect-dspy/batch/BatchMetrics"

/**
 * Renders the statistics as one line of at most about 100 characters.
 *
 * @since 0.2.0
 */
export const render = (stats: BatchMetrics.Stats, width = 24): string => {
  const done = stats.resumed + stats.done
  const parts: Array<string> = []
  if (stats.total !== undefined && stats.total > 0) {
    const ratio = Math.min(1, done / stats.total)
    const filled = Math.round(ratio * width)
    parts.push(`[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${stats.total} ${Math.floor(ratio * 100)}%`)
  } else parts.push(`${done} done`)
  parts.push(`${stats.rate.toFixed(1)}/s`)
  if (stats.etaMillis !== undefined) parts.push(`ETA ${BatchMetrics.formatDuration(stats.etaMillis)}`)
  parts.push(`failed ${stats.failed}`)
  parts.push(`in flight ${stats.inFlight}`)
  if (stats.queueDepth > 0) parts.push(`queue ${stats.queueDepth}`)
  if (stats.limit !== undefined) parts.push(`limit ${stats.limit}`)
  if (stats.rateLimitHits > 0) parts.push(`429s ${stats.rateLimitHits}`)
  return parts.join(" | ")
}

/**
 * Redraws the progress line every `intervalMillis` while the scope is open, then clears it.
 * `write` receives raw terminal text (default: stderr).
 *
 * @since 0.2.0
 */
export const start = (
  stats: Effect.Effect<BatchMetrics.Stats>,
  options: { readonly intervalMillis?: number | undefined; readonly write?: ((text: string) => void) | undefined } = {}
): Effect.Effect<void, never, Scope.Scope> => {
  const write = options.write ?? ((text: string) => void process.stderr.write(text))
  const draw = Effect.flatMap(stats, (s) => Effect.sync(() => write(`\r${render(s)}\x1b[K`)))
  return Effect.zipRight(
    Effect.addFinalizer(() => Effect.sync(() => write("\r\x1b[K"))),
    Effect.asVoid(Effect.forkScoped(Effect.repeat(draw, Schedule.spaced(options.intervalMillis ?? 150))))
  )
}

/**
 * Prints the progress line every `intervalMillis` (default 5 s) while the scope is open, one
 * plain line each (no cursor control), for output that is not a terminal: a log shows that a
 * long run is alive and how far it is. Nothing is printed for a run shorter than the interval.
 * `write` receives the text (default: stderr).
 *
 * @since 0.2.0
 */
export const startPlain = (
  stats: Effect.Effect<BatchMetrics.Stats>,
  options: { readonly intervalMillis?: number | undefined; readonly write?: ((text: string) => void) | undefined } = {}
): Effect.Effect<void, never, Scope.Scope> => {
  const write = options.write ?? ((text: string) => void process.stderr.write(text))
  const every = options.intervalMillis ?? 5_000
  const print = Effect.flatMap(stats, (s) => Effect.sync(() => write(`effect-dspy: ${render(s)}\n`)))
  return Effect.asVoid(Effect.forkScoped(Effect.delay(Effect.repeat(print, Schedule.spaced(every)), every)))
}
