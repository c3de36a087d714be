/**
 * `Evaluate`: runs a program over a dev set with a metric, concurrently with a limit, and
 * reports per-item outputs and scores and the mean. Exports as JSON or CSV.
 *
 * @since 0.1.0
 */
import { EventBus, type Module, type Prediction, Usage } from "@effect-dspy/core"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Example } from "./Example.js"
import { describeCause } from "./internal/describe.js"
import { type Context as MetricContext, type Metric, verdict } from "./Metric.js"

/**
 * One evaluated example.
 *
 * @since 0.1.0
 */
export interface Row<I, O> {
  readonly index: number
  readonly input: I
  readonly expected: Partial<O>
  /** The output, when the program succeeded. */
  readonly output: O | undefined
  /** Why the program (or the metric) failed, when it did. */
  readonly error: string | undefined
  readonly score: number
  /**
   * The metric's feedback, when it gave one (see `Metric.withFeedback`).
   *
   * @since 0.2.0
   */
  readonly feedback: string | undefined
  /**
   * Every predictor call the program made for this example (empty when it failed).
   *
   * @since 0.2.0
   */
  readonly trace: ReadonlyArray<Prediction.TraceEntry>
}

/**
 * The outcome of an evaluation.
 *
 * @since 0.1.0
 */
export interface Result<I, O> {
  readonly rows: ReadonlyArray<Row<I, O>>
  /** Mean score over attempted examples (failures count as `failureScore`). */
  readonly mean: number
  readonly failed: number
  /** Examples skipped because `maxErrors` was exceeded. */
  readonly notAttempted: number
  readonly usage: Usage.Usage
}

/**
 * Options of `run`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Name for spans and events. */
  readonly name?: string | undefined
  /** How many examples run at once (default 8). */
  readonly concurrency?: number | undefined
  /** Stop starting new examples once more than this many have failed. */
  readonly maxErrors?: number | undefined
  /**
   * Stop starting new examples once more than this many have failed while none has succeeded:
   * a program or metric that cannot succeed (a metric that always throws, a refused key) is
   * found out after a few runs, not after the whole set. The optimizers set it on the program
   * as given.
   *
   * @since 0.2.0
   */
  readonly maxFailuresBeforeSuccess?: number | undefined
  /** Score of an example whose program call fails (default 0). */
  readonly failureScore?: number | undefined
  /** Draw a progress bar on stderr; default: when stderr is a TTY. */
  readonly progress?: boolean | undefined
  /**
   * Passed to the metric with every call (GEPA names the predictor it asks feedback for).
   *
   * @since 0.2.0
   */
  readonly metricContext?: MetricContext | undefined
}

const drawProgress = (done: number, total: number, sum: number, failed: number): void => {
  const width = 24
  const filled = Math.round((done / Math.max(total, 1)) * width)
  const mean = done === 0 ? 0 : sum / done
  process.stderr.write(
    `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}  mean ${mean.toFixed(3)}  failed ${failed}`
  )
  if (done === total) process.stderr.write("\n")
}

/**
 * Evaluates a program on a dev set.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Evaluate, Example, Metric } from "@effect-dspy/optimize"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const devset = [Example.make({ question: "2+2?" }, { answer: "4" })]
 * const evaluation = Evaluate.run(qa, devset, Metric.exactMatch("answer"), { concurrency: 4 })
 * ```
 *
 * @since 0.1.0
 */
export const run = <I, O, E, R, ME = never, MR = never>(
  program: Module.Module<I, O, E, R>,
  devset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  metric: Metric<NoInfer<I>, NoInfer<O>, ME, MR>,
  options: Options = {}
): Effect.Effect<Result<I, O>, never, R | MR> =>
  Effect.gen(function*() {
    const name = options.name ?? program.name
    const failureScore = options.failureScore ?? 0
    const maxErrors = options.maxErrors ?? Number.POSITIVE_INFINITY
    const maxFailuresBeforeSuccess = options.maxFailuresBeforeSuccess ?? Number.POSITIVE_INFINITY
    const progress = options.progress ?? process.stderr.isTTY === true
    const bus = yield* EventBus.EventBus
    const start = yield* Clock.currentTimeMillis
    let failed = 0
    let succeeded = 0
    let done = 0
    let sum = 0
    yield* bus.publish({ type: "optimization.evaluate.start", optimizer: "Evaluate", data: { name, size: devset.length } })

    const evaluateOne = (example: Example<I, O>, index: number) =>
      Effect.suspend(() => {
        if (failed > maxErrors || (succeeded === 0 && failed > maxFailuresBeforeSuccess)) {
          return Effect.succeed<Row<I, O> | undefined>(undefined)
        }
        return program(example.input).pipe(
          Effect.flatMap((prediction) =>
            verdict(metric, example, prediction, options.metricContext).pipe(
              Effect.map((value): Row<I, O> => {
                const finite = Number.isFinite(value.score)
                if (!finite) failed++
                return {
                  index,
                  ...example,
                  output: prediction.output,
                  error: finite ? undefined : `the metric returned ${value.score}, not a finite number`,
                  score: finite ? value.score : failureScore,
                  feedback: value.feedback,
                  trace: prediction.trace
                }
              }),
              Effect.withSpan(`Metric(${name})`, {
                captureStackTrace: false,
                attributes: { "langfuse.observation.type": "evaluator" }
              })
            )
          ),
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.interrupt
              : Effect.sync((): Row<I, O> => {
                failed++
                return {
                  index,
                  ...example,
                  output: undefined,
                  error: describeCause(cause),
                  score: failureScore,
                  feedback: undefined,
                  trace: []
                }
              })
          ),
          Effect.tap((row) =>
            Effect.sync(() => {
              done++
              if (row.error === undefined) succeeded++
              sum += row.score
              if (progress) drawProgress(done, devset.length, sum, failed)
            })
          )
        )
      })

    const [results, usage] = yield* Usage.track(
      Effect.forEach(devset, evaluateOne, { concurrency: Math.max(1, options.concurrency ?? 8) })
    )
    const rows = results.filter((row): row is Row<I, O> => row !== undefined)
    const mean = rows.length === 0 ? 0 : rows.reduce((total, row) => total + row.score, 0) / rows.length
    const result: Result<I, O> = { rows, mean, failed, notAttempted: devset.length - rows.length, usage }
    const end = yield* Clock.currentTimeMillis
    yield* bus.publish({
      type: "optimization.evaluate.end",
      optimizer: "Evaluate",
      data: { name, mean, failed, notAttempted: result.notAttempted, durationMillis: end - start }
    })
    return result
  }).pipe(
    Effect.withSpan(`Evaluate(${options.name ?? program.name})`, {
      captureStackTrace: false,
      attributes: { "langfuse.observation.type": "evaluator" }
    })
  )

/**
 * The result as JSON text (rows with input, expected, output, score, feedback, error; and the mean).
 *
 * @since 0.1.0
 */
export const toJson = <I, O>(result: Result<I, O>): string =>
  JSON.stringify(
    {
      mean: result.mean,
      failed: result.failed,
      notAttempted: result.notAttempted,
      usage: result.usage,
      rows: result.rows.map(({ trace: _trace, ...row }) => row)
    },
    null,
    2
  )

const csvCell = (value: unknown): string => {
  const text = value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, "\"\"")}"` : text
}

/**
 * The result as CSV: one row per example (index, input, expected, output, score, error).
 *
 * @since 0.1.0
 */
export const toCsv = <I, O>(result: Result<I, O>): string =>
  [
    "index,input,expected,output,score,error",
    ...result.rows.map((row) =>
      [row.index, row.input, row.expected, row.output, row.score, row.error].map(csvCell).join(",")
    )
  ].join("\n") + "\n"
