/**
 * The cluster's commands, as `@effect/cli` `Command`s to mount in the `effect-dspy` command:
 *
 *   effect-dspy runner --cluster postgres://… --listen 0.0.0.0:34431 --advertise 10.0.0.5:34431 --concurrency 16 --program qa
 *   effect-dspy batch --cluster postgres://… --batch-id questions-1 --input items.jsonl --output results.jsonl --program qa
 *   effect-dspy status --cluster postgres://…
 *   effect-dspy export --cluster postgres://… --batch-id questions-1 --output results.jsonl
 *   effect-dspy cleanup --cluster postgres://… --batch-id questions-1   (or --finished)
 *
 * `--cluster` falls back to the `EFFECT_DSPY_CLUSTER` environment variable (a URL with a
 * password is a secret: keep it out of shell history). The handlers fail only with
 * `CliFailure` (a message for stderr and an exit code: 1 the run failed or stopped, 2 bad
 * usage or setup); an interrupted command (Ctrl-C, SIGTERM) is resumable.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as BatchMetrics from "@effect-dspy/batch/BatchMetrics"
import * as Programs from "@effect-dspy/batch/Programs"
import * as CliFailure from "./CliFailure.js"
import * as Progress from "./Progress.js"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as BatchStore from "@effect-dspy/cluster/BatchStore"
import * as Cluster from "@effect-dspy/cluster/Cluster"
import * as DistributedBatch from "@effect-dspy/cluster/DistributedBatch"
import { modelLayer, resolveModelId } from "./internal/model.js"
import * as Operations from "@effect-dspy/cluster/Operations"
import * as Runner from "@effect-dspy/cluster/Runner"
import * as LocalPostgres from "@effect-dspy/cluster/LocalPostgres"
import * as Tables from "@effect-dspy/cluster/Tables"

const isTTY = () => process.stderr.isTTY === true

// =============================================================================
// Shared options
// =============================================================================

/** `--cluster`: the PostgreSQL URL, else `EFFECT_DSPY_CLUSTER`. */
const clusterOption = Options.redacted("cluster").pipe(
  Options.withFallbackConfig(Config.redacted("EFFECT_DSPY_CLUSTER")),
  Options.withDescription("PostgreSQL URL of the cluster (postgres://user:password@host:5432/db); default EFFECT_DSPY_CLUSTER")
)

const databaseOptions = (url: Redacted.Redacted, applicationName: string): Cluster.DatabaseOptions => ({ url, applicationName })

const programOption = Options.text("program").pipe(
  Options.withAlias("p"),
  Options.withDefault("qa"),
  Options.withDescription(
    `A built-in program (${Object.keys(Programs.builtIns).join(", ")}) or a module file whose default export is a module`
  )
)
const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print the result as one JSON object on stdout"))
const batchIdOption = Options.text("batch-id").pipe(Options.withDescription("The batch's name: run it again with the same id to resume it"))
const seconds = (name: string, fallback: number, description: string) =>
  Options.float(name).pipe(
    Options.filterMap((n) => (n > 0 ? Option.some(n) : Option.none()), `--${name} must be more than 0`),
    Options.withDefault(fallback),
    Options.withDescription(description)
  )

// =============================================================================
// runner
// =============================================================================

/** The runner's options. */
const runnerOptions = {
  cluster: clusterOption,
  listen: Options.text("listen").pipe(
    Options.withDefault("127.0.0.1:34431"),
    Options.withDescription("host:port to listen on for the other members (0.0.0.0:34431 for every interface)")
  ),
  advertise: Options.text("advertise").pipe(
    Options.optional,
    Options.withDescription("host:port the other members reach this runner at (default: --listen)")
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withAlias("c"),
    Options.filterMap((n) => (n >= 1 ? Option.some(n) : Option.none()), "--concurrency must be 1 or more"),
    Options.withDefault(16),
    Options.withDescription("Items (and model requests) at once in this runner")
  ),
  program: programOption,
  state: Options.text("state").pipe(Options.optional, Options.withDescription("Saved program state (JSON) to load into the program")),
  model: Options.text("model").pipe(
    Options.withAlias("m"),
    Options.optional,
    Options.withDescription("Model id (default: EFFECT_DSPY_MODEL, a configured key, else the offline simulator)")
  ),
  rpm: Options.integer("rpm").pipe(Options.optional, Options.withDescription("This runner's requests per minute")),
  tpm: Options.integer("tpm").pipe(Options.optional, Options.withDescription("This runner's tokens per minute")),
  globalRpm: Options.integer("global-rpm").pipe(
    Options.optional,
    Options.withDescription("Requests per minute for the whole account, shared by every runner (through PostgreSQL)")
  ),
  globalTpm: Options.integer("global-tpm").pipe(
    Options.optional,
    Options.withDescription("Tokens per minute for the whole account, shared by every runner")
  ),
  limitKey: Options.text("limit-key").pipe(
    Options.optional,
    Options.withDescription("Name of the account the global limits belong to (default: the model id)")
  ),
  timeout: Options.integer("timeout").pipe(Options.optional, Options.withDescription("Timeout of one model request, in seconds")),
  healthCheckInterval: seconds("health-check-interval", 2, "Seconds between pings of the other runners (a dead one's items move after a few)"),
  shutdownTimeout: seconds("shutdown-timeout", 10, "Seconds a stopping runner (SIGTERM) may take; items not done by then run elsewhere")
}

/** Exits the process if a stop takes longer than `millis` after SIGTERM or SIGINT (the graceful stop may hang on I/O). */
const hardDeadline = (millis: number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const onSignal = () => {
        setTimeout(() => {
          process.stderr.write(`effect-dspy runner: not stopped within ${millis} ms, exiting\n`)
          process.exit(1)
        }, millis).unref()
      }
      process.once("SIGTERM", onSignal)
      process.once("SIGINT", onSignal)
      return onSignal
    }),
    (onSignal) =>
      Effect.sync(() => {
        process.off("SIGTERM", onSignal)
        process.off("SIGINT", onSignal)
      })
  ).pipe(Effect.asVoid)

/**
 * `runner`: joins the cluster and runs items until stopped.
 *
 * @since 0.2.0
 */
export const runner = Command.make("runner", runnerOptions, (args) =>
  Effect.scoped(Effect.gen(function*() {
    const listen = Cluster.parseAddress(args.listen)
    if (Option.isNone(listen)) return yield* new CliFailure.CliFailure({ reason: `--listen ${args.listen}: expected host:port`, code: 2 })
    const advertised = Option.match(args.advertise, { onNone: () => listen, onSome: Cluster.parseAddress })
    if (Option.isNone(advertised)) {
      return yield* new CliFailure.CliFailure({ reason: `--advertise ${Option.getOrElse(args.advertise, () => "")}: expected host:port`, code: 2 })
    }
    if (Option.isNone(args.advertise) && /^(0\.0\.0\.0|::)$/.test(listen.value.host)) {
      return yield* new CliFailure.CliFailure({
        reason: `--listen ${args.listen} is every interface: say with --advertise host:port where the other members reach this runner`,
        code: 2
      })
    }
    const module = yield* Programs.load(args.program, { state: Option.getOrUndefined(args.state) })
    const { modelId, notice } = yield* resolveModelId(args.model)
    if (notice !== undefined) yield* Console.error(`effect-dspy runner: ${notice}`)
    const timeout = Option.match(args.timeout, { onNone: () => undefined, onSome: (s) => Duration.seconds(s) })
    const shutdownMillis = args.shutdownTimeout * 1000
    yield* hardDeadline(shutdownMillis)
    // leave time after the drain for releasing shards and closing connections (about 2 s on a
    // busy machine)
    const drainMillis = Math.max(500, Math.min(shutdownMillis * 0.5, shutdownMillis - 2000))
    yield* Layer.launch(Runner.layer({
      database: databaseOptions(args.cluster, "effect-dspy runner"),
      address: advertised.value,
      listen: listen.value,
      program: args.program,
      module,
      modelId,
      model: (limiter) => modelLayer(modelId, { limiter, timeout }),
      concurrency: args.concurrency,
      requestsPerMinute: Option.getOrUndefined(args.rpm),
      tokensPerMinute: Option.getOrUndefined(args.tpm),
      global: {
        requestsPerMinute: Option.getOrUndefined(args.globalRpm),
        tokensPerMinute: Option.getOrUndefined(args.globalTpm),
        key: Option.getOrUndefined(args.limitKey)
      },
      settings: {
        healthCheckInterval: Duration.seconds(args.healthCheckInterval),
        drainTimeout: Duration.millis(drainMillis)
      }
    }))
  }).pipe(Effect.mapError(CliFailure.fromError)))
).pipe(Command.withDescription("Join a cluster and run the items of distributed batches until stopped"))

// =============================================================================
// batch
// =============================================================================

/**
 * The options a distributed batch adds (to mount on an existing `batch` command).
 *
 * @since 0.2.0
 */
export const batchOptions = {
  cluster: clusterOption,
  batchId: batchIdOption,
  program: programOption,
  input: Options.text("input").pipe(Options.withAlias("i"), Options.withDescription("Input file: JSONL, or CSV with a header")),
  output: Options.text("output").pipe(
    Options.withAlias("o"),
    Options.withDescription("Output JSONL file; results already in it are kept")
  ),
  format: Options.choice("format", ["jsonl", "csv"]).pipe(Options.optional, Options.withDescription("Input format (default: by extension)")),
  idField: Options.text("id-field").pipe(Options.withDefault("id"), Options.withDescription("Field holding an item's id (else its line number)")),
  window: Options.integer("window").pipe(
    Options.filterMap((n) => (n >= 1 ? Option.some(n) : Option.none()), "--window must be 1 or more"),
    Options.optional,
    Options.withDescription("Most items in flight at once (default: twice the runners' total concurrency)")
  ),
  retryFailed: Options.boolean("retry-failed").pipe(Options.withDescription("Run again the items whose result is a failure")),
  state: Options.text("state").pipe(Options.optional, Options.withDescription("Saved program state (JSON), to check inputs with")),
  json: jsonOption
}

/**
 * The arguments of a distributed batch.
 *
 * @since 0.2.0
 */
export type BatchArgs = Command.Command.ParseConfig<typeof batchOptions>

/**
 * Runs a distributed batch from parsed arguments (the handler of `batch`, for a `batch` command
 * that dispatches on `--cluster`).
 *
 * @since 0.2.0
 */
export const runBatch = (args: BatchArgs) =>
  Effect.scoped(Effect.gen(function*() {
    const module = yield* Programs.load(args.program, { state: Option.getOrUndefined(args.state) })
    const recorder = yield* BatchMetrics.makeRecorder({ concurrency: Option.getOrElse(args.window, () => 0) })
    const run = DistributedBatch.run({
      batchId: args.batchId,
      input: args.input,
      output: args.output,
      program: args.program,
      module,
      format: Option.getOrUndefined(args.format),
      idField: args.idField,
      window: Option.getOrUndefined(args.window),
      retryFailed: args.retryFailed,
      recorder
    }).pipe(
      Effect.provide(DistributedBatch.layer({ database: databaseOptions(args.cluster, "effect-dspy coordinator") })),
      Effect.onInterrupt(() =>
        Effect.flatMap(recorder.stats, (s) =>
          Console.error(
            `\neffect-dspy: interrupted after ${s.done} item(s) in this run (${s.resumed} done before); the items sent keep running ` +
              `on the runners: run the same command again to collect them and send the rest`
          ))
      )
    )
    const summary = yield* (isTTY() && !args.json ? Effect.zipRight(Progress.start(recorder.stats), run).pipe(Effect.scoped) : run)
    if (args.json) {
      yield* Console.log(JSON.stringify({ program: args.program, input: args.input, ...summary }))
    } else {
      const runners = summary.runners.length === 0
        ? "no runner was up at the start"
        : `${summary.runners.length} runner(s) at the start: ${summary.runners.map((r) => `${r.address} (${r.model}, ${r.concurrency} at once)`).join(", ")}`
      yield* Console.log(
        BatchMetrics.formatSummary(summary, `Summary (batch ${summary.batchId}, ${args.program}) -> ${summary.output}`) +
          `\n  ${runners}` +
          (summary.exported > 0 ? `\n  ${summary.exported} result(s) stored while the coordinator was away were written first` : "")
      )
    }
  })).pipe(Effect.mapError(CliFailure.fromError))

/**
 * `batch`: runs a batch on the cluster's runners.
 *
 * @since 0.2.0
 */
export const batch = Command.make("batch", batchOptions, runBatch).pipe(
  Command.withDescription("Run a program over a JSONL or CSV file on a cluster's runners, resumably (by batch id)")
)

// =============================================================================
// status, export, cleanup
// =============================================================================

const storeLayer = (url: Redacted.Redacted) =>
  BatchStore.layer().pipe(
    Layer.provide(Layer.effectDiscard(Tables.ensure())),
    Layer.provideMerge(Cluster.databaseLayer({ ...databaseOptions(url, "effect-dspy"), startupTimeout: Duration.seconds(10) }))
  )

/**
 * `status`: the batches and the live runners.
 *
 * @since 0.2.0
 */
export const status = Command.make("status", { cluster: clusterOption, json: jsonOption }, (args) =>
  Effect.gen(function*() {
    const s = yield* Operations.status
    if (args.json) return yield* Console.log(JSON.stringify(s))
    const lines = [`runners (${s.runners.length} live)`]
    for (const r of s.runners) lines.push(`  ${r.address}  ${r.program} on ${r.model}, ${r.concurrency} at once`)
    lines.push(`batches (${s.batches.length})`)
    for (const b of s.batches) {
      const total = b.total === undefined ? "?" : String(b.total)
      lines.push(
        `  ${b.batchId}  ${b.program}  ${b.succeeded + b.failed}/${total} (${b.failed} failed)  ${
          b.finishedAt === undefined ? "not finished" : `finished ${b.finishedAt.toISOString()}`
        }`
      )
    }
    yield* Console.log(lines.join("\n"))
  }).pipe(Effect.provide(storeLayer(args.cluster)), Effect.mapError(CliFailure.fromError))
).pipe(Command.withDescription("List the cluster's batches and live runners"))

/**
 * `export`: writes a batch's stored results to a JSONL file.
 *
 * @since 0.2.0
 */
export const exportCommand = Command.make(
  "export",
  {
    cluster: clusterOption,
    batchId: batchIdOption,
    output: Options.text("output").pipe(Options.withAlias("o"), Options.withDescription("JSONL file (appended; items already in it are skipped)"))
  },
  (args) =>
    Effect.gen(function*() {
      const written = yield* Operations.exportResults(args.batchId, args.output)
      yield* Console.log(`${written} result(s) of batch ${args.batchId} written to ${args.output}`)
    }).pipe(Effect.provide(storeLayer(args.cluster)), Effect.mapError(CliFailure.fromError))
).pipe(Command.withDescription("Write a batch's stored results to a JSONL file"))

/**
 * `cleanup`: deletes finished batches' results and cluster messages.
 *
 * @since 0.2.0
 */
export const cleanup = Command.make(
  "cleanup",
  {
    cluster: clusterOption,
    batchIds: Options.text("batch-id").pipe(Options.repeated, Options.withDescription("A batch to delete (repeatable)")),
    finished: Options.boolean("finished").pipe(Options.withDescription("Every finished batch")),
    force: Options.boolean("force").pipe(Options.withDescription("Also batches that are not finished (their items in flight are dropped)")),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Say what would be deleted; delete nothing")),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function*() {
      if (args.batchIds.length === 0 && !args.finished) {
        return yield* new CliFailure.CliFailure({ reason: "say which batches: --batch-id ID (repeatable) or --finished", code: 2 })
      }
      const cleaned = yield* Operations.cleanup({ batchIds: args.batchIds, finished: args.finished, force: args.force, dryRun: args.dryRun })
      if (args.json) return yield* Console.log(JSON.stringify(cleaned))
      if (cleaned.length === 0) return yield* Console.log("nothing to clean up")
      for (const c of cleaned) {
        const what = `${c.results} result(s), ${c.messages} message(s), ${c.replies} reply(ies)`
        yield* Console.log(c.skipped === undefined ? `deleted batch ${c.batchId}: ${what}` : `kept batch ${c.batchId} (${c.skipped}): ${what}`)
      }
    }).pipe(Effect.provide(storeLayer(args.cluster)), Effect.mapError(CliFailure.fromError))
).pipe(Command.withDescription("Delete finished batches' results and cluster messages (export them first)"))

/**
 * Every command of the cluster, to mount as subcommands of `effect-dspy`.
 *
 * @since 0.2.0
 */
/**
 * `postgres`: a local throwaway PostgreSQL server for trying a cluster out (fsync off: not for
 * data you keep).
 *
 * @since 0.2.0
 */
export const postgres = Command.make(
  "postgres",
  {
    dir: Options.directory("dir").pipe(Options.withDescription("Folder of the server's data (created; kept)")),
    port: Options.integer("port").pipe(Options.withDefault(5432), Options.withDescription("Port on 127.0.0.1"))
  },
  (args) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* LocalPostgres.make({ directory: args.dir, port: args.port })
      yield* Console.log(`PostgreSQL at ${server.url} (data in ${server.dataDirectory}); Ctrl-C stops it`)
      return yield* Effect.never
    })).pipe(Effect.mapError((error) => new CliFailure.CliFailure({ reason: error.message, code: 2 })))
).pipe(Command.withDescription("Run a local PostgreSQL server for trying a cluster out (not for data you keep)"))

/**
 * The commands `effect-dspy` mounts beside its own (`batch --cluster` dispatches to `runBatch`).
 *
 * @since 0.2.0
 */
export const commands = [runner, status, exportCommand, cleanup, postgres] as const
