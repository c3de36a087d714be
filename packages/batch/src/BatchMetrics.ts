/**
 * Metrics of a batch run: Effect `Metric`s (counters, a latency summary and histogram, gauges)
 * for exporters, and a per-run `Recorder` that keeps live statistics (for the progress bar) and
 * builds the final `Summary`: totals, failures by kind, retries, rate-limit hits, wall time,
 * throughput, latency percentiles, tokens, and the speedup over running the items one by one.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import * as MetricBoundaries from "effect/MetricBoundaries"
import { makeLatencySample } from "./internal/latencySample.js"
import type * as Outcome from "./Outcome.js"
import type * as RateControl from "./RateControl.js"

/** Finished items, tagged `status` (`success` / `failure`) and `kind` (the error kind, or `ok`). */
const itemsTotalKey = MetricKey.counter("effect_dspy_batch_items_total", {
  description: "Batch items finished",
  incremental: true
})
/**
 * Finished items, tagged `status` (`success` / `failure`) and `kind` (the error kind, or `ok`).
 *
 * @since 0.1.0
 */
export const itemsTotal: Metric.Metric.Counter<number> = Metric.fromMetricKey(itemsTotalKey)

/**
 * Latency of items that called the model, in milliseconds (p50/p95/p99), over all runs.
 *
 * @since 0.1.0
 */
export const itemLatency = Metric.summary({
  name: "effect_dspy_batch_item_latency_ms",
  description: "Latency of batch items that called the model",
  maxAge: "1 day",
  maxSize: 100_000,
  error: 0.001,
  quantiles: [0.5, 0.95, 0.99]
})

/**
 * Latency histogram of items that called the model, in milliseconds.
 *
 * @since 0.1.0
 */
export const itemLatencyHistogram = Metric.histogram(
  "effect_dspy_batch_item_latency_ms_histogram",
  MetricBoundaries.exponential({ start: 5, factor: 2, count: 16 }),
  "Latency of batch items that called the model"
)

/**
 * Items being processed (sampled while a run goes on).
 *
 * @since 0.1.0
 */
export const itemsInProgress = Metric.gauge("effect_dspy_batch_items_in_progress", {
  description: "Batch items being processed"
})

/** Tokens used by batch items, tagged `type` (`input` / `output`). */
const tokensTotalKey = MetricKey.counter("effect_dspy_batch_tokens_total", {
  description: "Tokens used by batch items",
  incremental: true
})
/**
 * Tokens used by batch items, tagged `type` (`input` / `output`).
 *
 * @since 0.1.0
 */
export const tokensTotal: Metric.Metric.Counter<number> = Metric.fromMetricKey(tokensTotalKey)

/**
 * A counter with its tags in its key: the same series as `Metric.tagged(counter, …)`, but its
 * registry entry is looked up once (`Metric.tagged` builds a new key and looks it up again on
 * every update: a measurable part of the runner's cost per item).
 */
const taggedCounter = (
  key: MetricKey.MetricKey.Counter<number>,
  tags: Readonly<Record<string, string>>
): Metric.Metric.Counter<number> => {
  let tagged = key
  for (const [name, value] of Object.entries(tags)) tagged = MetricKey.tagged(tagged, name, value)
  return Metric.fromMetricKey(tagged)
}

/**
 * Live statistics of a run.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** Entries expected, when known (for progress), including those resumed. */
  readonly total: number | undefined
  /** Skipped because already finished in the output file. */
  readonly resumed: number
  /** Finished in this run. */
  readonly done: number
  /** Lines written to the output file in this run (a file run; else 0). */
  readonly written: number
  readonly succeeded: number
  readonly failed: number
  readonly inProgress: number
  /** Requests in flight and calls waiting for their turn (when a rate control is in use). */
  readonly inFlight: number
  readonly queueDepth: number
  readonly limit: number | undefined
  readonly rateLimitHits: number
  readonly elapsedMillis: number
  /** Items finished per second so far. */
  readonly rate: number
  /** Estimated time left, when the total is known. */
  readonly etaMillis: number | undefined
}

/**
 * The final report of a run.
 *
 * @since 0.1.0
 */
export interface Summary {
  /** Entries read from the input (finished, resumed and not attempted). */
  readonly total: number
  /** Skipped: already finished in the output file. */
  readonly resumed: number
  /** Finished in this run. */
  readonly finished: number
  readonly succeeded: number
  readonly failed: number
  readonly failedByKind: Readonly<Record<string, number>>
  /** Successes served without a model call (duplicates in this run, or the persistent cache). */
  readonly cached: number
  /** Results the de-duplication memory forgot because it was full (see `Batch.Options.memoCapacity`). */
  readonly memoEvicted: number
  /** Left out because the run stopped early (`maxErrors`) or was interrupted. */
  readonly notAttempted: number
  readonly stoppedEarly: boolean
  /** Module calls of the language model made by the items. */
  readonly lmCalls: number
  /** Requests sent over the wire (every attempt), when a rate control is in use. */
  readonly requests: number
  /** Requests sent again (after a 429, a 5xx, a reset, …). */
  readonly retries: number
  /** 429 answers. */
  readonly rateLimitHits: number
  readonly wallMillis: number
  /** Items finished per second. */
  readonly throughput: number
  /** Latency of the items that called the model, in milliseconds. */
  readonly latency: {
    readonly p50: number
    readonly p95: number
    readonly p99: number
    readonly mean: number
    readonly max: number
  }
  readonly tokens: { readonly input: number; readonly output: number; readonly total: number }
  /** Sum of the per-item latencies: the wall time of running them one after another. */
  readonly sumLatencyMillis: number
  /** `sumLatencyMillis / wallMillis`. */
  readonly speedup: number
  readonly concurrency: number
  /** `speedup / concurrency` (1 is ideal). */
  readonly efficiency: number
  readonly peakInFlight: number
  readonly peakQueueDepth: number
  /** The adaptive concurrency limit at the end, and the lowest it went. */
  readonly finalLimit: number | undefined
  readonly minLimit: number | undefined
}

/**
 * A recorder of one run's statistics.
 *
 * @since 0.1.0
 */
export interface Recorder {
  readonly concurrency: number
  /** Sets the number of entries expected (for progress). */
  readonly setTotal: (total: number) => Effect.Effect<void>
  /** Marks the start of the run (the wall clock starts here). */
  readonly start: Effect.Effect<void>
  /** Marks the end of the run. */
  readonly finish: Effect.Effect<void>
  readonly onResumed: Effect.Effect<void>
  /** A line was written to the output file. */
  readonly onWritten: Effect.Effect<void>
  readonly onNotAttempted: Effect.Effect<void>
  readonly onStoppedEarly: Effect.Effect<void>
  readonly onLmCall: Effect.Effect<void>
  /** The de-duplication memory forgot a result to make room. */
  readonly onMemoEvict: Effect.Effect<void>
  readonly onItemStart: Effect.Effect<void>
  /** An item stopped before it finished (interrupted): it counts as not attempted. */
  readonly onItemAbort: Effect.Effect<void>
  /** Records a finished item; `calledModel` is false for cached results and unreadable inputs. */
  readonly onItemEnd: <I, O>(outcome: Outcome.Outcome<I, O>, calledModel: boolean) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
  readonly summary: Effect.Effect<Summary>
}

const nowMillis = Effect.map(Clock.currentTimeNanos, (n) => Number(n) / 1e6)

/**
 * Makes a recorder. With a rate control, its request counters (attempts, 429s, queue depth) are
 * reported as deltas over the run.
 *
 * @since 0.1.0
 */
export const makeRecorder = (options: {
  readonly concurrency: number
  readonly rateControl?: RateControl.Service | undefined
}): Effect.Effect<Recorder> =>
  Effect.gen(function*() {
    const rateControl = options.rateControl
    const latencies = makeLatencySample()
    const initial = rateControl === undefined ? undefined : yield* rateControl.stats
    let total: number | undefined
    let startedAt: number | undefined
    let endedAt: number | undefined
    let resumed = 0
    let written = 0
    let succeeded = 0
    let failed = 0
    let cached = 0
    let memoEvicted = 0
    let notAttempted = 0
    let stoppedEarly = false
    let lmCalls = 0
    let inProgress = 0
    let sumLatency = 0
    let timedItems = 0
    let maxLatency = 0
    let inputTokens = 0
    let outputTokens = 0
    let totalTokens = 0
    const failedByKind: Record<string, number> = {}
    // tagged metrics are looked up once, not per item
    const succeededMetric = taggedCounter(itemsTotalKey, { status: "success", kind: "ok" })
    const failedMetrics = new Map<string, Metric.Metric.Counter<number>>()
    const failedMetric = (kind: string) => {
      let metric = failedMetrics.get(kind)
      if (metric === undefined) {
        metric = taggedCounter(itemsTotalKey, { status: "failure", kind })
        failedMetrics.set(kind, metric)
      }
      return metric
    }
    const inputTokensMetric = taggedCounter(tokensTotalKey, { type: "input" })
    const outputTokensMetric = taggedCounter(tokensTotalKey, { type: "output" })

    const elapsed = Effect.map(nowMillis, (now) =>
      startedAt === undefined ? 0 : (endedAt ?? now) - startedAt)

    const rates = Effect.suspend(() => rateControl === undefined ? Effect.succeed(undefined) : rateControl.stats)

    // One step per finished item: the counts, and every metric update made directly with the
    // fiber's metric labels (what `Metric.update` does, without an effect per metric).
    const onItemEnd = <I, O>(outcome: Outcome.Outcome<I, O>, calledModel: boolean): Effect.Effect<void> =>
      Effect.withFiberRuntime((fiber) => {
        const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
        inProgress--
        if (outcome._tag === "Success") {
          succeeded++
          if (outcome.cached !== undefined) cached++
          const u = outcome.usage
          inputTokens += u.inputTokens
          outputTokens += u.outputTokens
          totalTokens += u.totalTokens
          succeededMetric.unsafeUpdate(1, labels)
          if (u.totalTokens > 0) {
            inputTokensMetric.unsafeUpdate(u.inputTokens, labels)
            outputTokensMetric.unsafeUpdate(u.outputTokens, labels)
          }
        } else {
          failed++
          failedByKind[outcome.error.kind] = (failedByKind[outcome.error.kind] ?? 0) + 1
          failedMetric(outcome.error.kind).unsafeUpdate(1, labels)
        }
        if (calledModel) {
          sumLatency += outcome.latencyMillis
          timedItems++
          if (outcome.latencyMillis > maxLatency) maxLatency = outcome.latencyMillis
          latencies.add(outcome.latencyMillis)
          itemLatency.unsafeUpdate(outcome.latencyMillis, labels)
          itemLatencyHistogram.unsafeUpdate(outcome.latencyMillis, labels)
        }
        return Effect.void
      })

    const stats: Effect.Effect<Stats> = Effect.gen(function*() {
      const ms = yield* elapsed
      const r = yield* rates
      const done = succeeded + failed
      const rate = ms > 0 ? (done * 1000) / ms : 0
      const left = total === undefined ? undefined : Math.max(0, total - resumed - done - notAttempted)
      return {
        total,
        resumed,
        done,
        written,
        succeeded,
        failed,
        inProgress,
        inFlight: r?.inFlight ?? inProgress,
        queueDepth: r?.queueDepth ?? 0,
        limit: r?.limit,
        rateLimitHits: r === undefined || initial === undefined ? 0 : r.rateLimited - initial.rateLimited,
        elapsedMillis: ms,
        rate,
        etaMillis: left === undefined || rate === 0 ? undefined : (left / rate) * 1000
      }
    })

    const summary: Effect.Effect<Summary> = Effect.gen(function*() {
      const wall = yield* elapsed
      const r = yield* rates
      const [p50 = 0, p95 = 0, p99 = 0] = latencies.quantiles([0.5, 0.95, 0.99])
      const finished = succeeded + failed
      const requests = r === undefined || initial === undefined ? lmCalls : r.attempts - initial.attempts
      const speedup = wall > 0 ? sumLatency / wall : 0
      return {
        total: resumed + finished + notAttempted,
        resumed,
        finished,
        succeeded,
        failed,
        failedByKind: { ...failedByKind },
        cached,
        memoEvicted,
        notAttempted,
        stoppedEarly,
        lmCalls,
        requests,
        retries: Math.max(0, requests - lmCalls),
        rateLimitHits: r === undefined || initial === undefined ? 0 : r.rateLimited - initial.rateLimited,
        wallMillis: wall,
        throughput: wall > 0 ? (finished * 1000) / wall : 0,
        latency: {
          p50,
          p95,
          p99,
          mean: timedItems === 0 ? 0 : sumLatency / timedItems,
          max: maxLatency
        },
        tokens: { input: inputTokens, output: outputTokens, total: totalTokens },
        sumLatencyMillis: sumLatency,
        speedup,
        concurrency: options.concurrency,
        efficiency: options.concurrency > 0 ? speedup / options.concurrency : 0,
        peakInFlight: r?.maxInFlight ?? 0,
        peakQueueDepth: r?.maxQueueDepth ?? 0,
        finalLimit: r?.limit,
        minLimit: r?.minLimit
      }
    })

    return {
      concurrency: options.concurrency,
      setTotal: (n) => Effect.sync(() => void (total = n)),
      start: Effect.flatMap(nowMillis, (now) =>
        Effect.sync(() => {
          startedAt ??= now
        })),
      finish: Effect.flatMap(nowMillis, (now) =>
        Effect.sync(() => {
          endedAt = now
        })),
      onResumed: Effect.sync(() => void resumed++),
      onWritten: Effect.sync(() => void written++),
      onNotAttempted: Effect.sync(() => void notAttempted++),
      onStoppedEarly: Effect.sync(() => void (stoppedEarly = true)),
      onLmCall: Effect.sync(() => void lmCalls++),
      onMemoEvict: Effect.sync(() => void memoEvicted++),
      onItemStart: Effect.sync(() => void inProgress++),
      onItemAbort: Effect.sync(() => {
        notAttempted++
        inProgress--
      }),
      onItemEnd,
      stats,
      summary
    }
  })

// =============================================================================
// Formatting
// =============================================================================

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-")

/**
 * Milliseconds as `850 ms`, `12.3 s` or `4m 05s`.
 *
 * @since 0.1.0
 */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "-"
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`
}

/**
 * The summary as a two-column text table.
 *
 * @since 0.1.0
 */
export const formatSummary = (summary: Summary, title = "Batch summary"): string => {
  const kinds = Object.entries(summary.failedByKind)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ")
  const rows: Array<readonly [string, string]> = [
    ["items", `${summary.total}`],
    ["succeeded", `${summary.succeeded}${summary.cached > 0 ? ` (${summary.cached} without a model call)` : ""}`],
    ["failed", `${summary.failed}${kinds === "" ? "" : ` (${kinds})`}`]
  ]
  if (summary.memoEvicted > 0) {
    rows.push(["dedup memory", `${summary.memoEvicted} results forgotten (full: raise memoCapacity / --memo-capacity)`])
  }
  if (summary.resumed > 0) rows.push(["resumed", `${summary.resumed} already in the output`])
  if (summary.notAttempted > 0 || summary.stoppedEarly) {
    rows.push(["not attempted", `${summary.notAttempted}${summary.stoppedEarly ? " (stopped early: too many errors)" : ""}`])
  }
  rows.push(
    ["requests", `${summary.requests} (${summary.retries} retries, ${summary.rateLimitHits} rate-limited)`],
    ["wall time", formatDuration(summary.wallMillis)],
    ["throughput", `${fixed(summary.throughput, 2)} items/s`],
    [
      "latency",
      `p50 ${formatDuration(summary.latency.p50)}, p95 ${formatDuration(summary.latency.p95)}, p99 ${
        formatDuration(summary.latency.p99)
      }, max ${formatDuration(summary.latency.max)}`
    ],
    ["tokens", `${summary.tokens.total} (${summary.tokens.input} in, ${summary.tokens.output} out)`],
    [
      "speedup",
      `${fixed(summary.speedup, 2)}x over sequential (sum of latencies ${formatDuration(summary.sumLatencyMillis)})`
    ],
    ["efficiency", `${fixed(summary.efficiency * 100, 0)}% of concurrency ${summary.concurrency}`]
  )
  if (summary.finalLimit !== undefined) {
    rows.push([
      "concurrency",
      `peak in flight ${summary.peakInFlight}, peak queue ${summary.peakQueueDepth}, limit ${summary.finalLimit} (lowest ${summary.minLimit})`
    ])
  }
  const width = Math.max(...rows.map(([k]) => k.length))
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join("\n")
}
