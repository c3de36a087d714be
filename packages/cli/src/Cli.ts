/**
 * The `effect-dspy` command (built with `@effect/cli`):
 *
 *   effect-dspy batch --program qa --input items.jsonl --output results.jsonl --concurrency 10 --rpm 600
 *   effect-dspy example simple|large|rate-limited|benchmark
 *
 * Exit codes: 0 done (failed items are recorded in the output), 1 stopped early by
 * `--max-errors`, or the output file could not be written (a full disk), 2 bad usage or setup
 * (unknown model id, missing key, unreadable file, an output another run is writing), 3 the
 * model cannot serve the run (the key refused, the quota exhausted, the server unreachable: no
 * line is written for those items), 130 interrupted by Ctrl-C, 143 by SIGTERM. After 1, 3, 130
 * and 143, the same command again resumes.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as ModelId from "@effect-dspy/providers/ModelId"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import { createRequire } from "node:module"
import * as Batch from "@effect-dspy/batch/Batch"
import * as BatchMetrics from "@effect-dspy/batch/BatchMetrics"
import * as Cache from "@effect-dspy/batch/Cache"
import * as RateControl from "@effect-dspy/batch/RateControl"
import type * as ExampleModes from "./ExampleModes.js"
import * as Programs from "@effect-dspy/batch/Programs"
import * as CliFailure from "./CliFailure.js"
import * as ClusterCommands from "./ClusterCommands.js"
import { modelLayer, resolveModelId } from "./internal/model.js"
import * as Progress from "./Progress.js"

/** The variable holding a provider's API key, to name it when the key is refused. */
const keyVariable = (modelId: string): string | undefined => {
  // the prefix before the first "/": the id was parsed when the model's layer was built
  switch (modelId.slice(0, Math.max(0, modelId.indexOf("/")))) {
    case "openai":
      return "OPENAI_API_KEY"
    case "anthropic":
      return "ANTHROPIC_API_KEY"
    case "google":
      return "GEMINI_API_KEY or GOOGLE_API_KEY"
    case "openai-compatible":
      return "OPENAI_COMPATIBLE_API_KEY"
    default:
      return undefined
  }
}

/** The address a connection failure names (`... (POST http://host/v1/...)`), credentials hidden already. */
const addressIn = (message: string): string | undefined => /\((?:GET|POST|PUT) (\S+?)\)/.exec(message)?.[1]

/** A run the model cannot serve, in plain words, with what to do: exit code 3. */
const runFailure = (error: Batch.RunFailed, modelId: string): CliFailure.CliFailure => {
  const status = error.error.status === undefined ? "" : ` (HTTP ${error.error.status})`
  const resume = "no line was written for the items it stopped; run the same command again once fixed"
  switch (error.reason) {
    case "Authentication": {
      const variable = keyVariable(modelId)
      return new CliFailure.CliFailure({
        reason: `the server refused the API key${status}: check ${variable ?? `the API key of ${modelId}`}; ${resume}`,
        code: 3
      })
    }
    case "QuotaExceeded":
      return new CliFailure.CliFailure({
        reason: `the account of ${modelId} is out of quota or credit${status}: add credit or raise the limit; ${resume}`,
        code: 3
      })
    case "Unreachable": {
      const address = addressIn(error.error.message)
      return new CliFailure.CliFailure({
        reason: `cannot reach ${address ?? `the server of ${modelId}`}: ${error.items} item(s) in a row failed to connect, ` +
          `none succeeded${address === undefined ? ` (${error.error.message})` : ""}; ${resume}`,
        code: 3
      })
    }
  }
}

const isTTY = () => process.stderr.isTTY === true

/** This package's version, for `--version` (package.json is one level up from src/ and dist/). */
const version: string = (() => {
  const manifest: unknown = createRequire(import.meta.url)("../package.json")
  return Predicate.hasProperty(manifest, "version") && typeof manifest.version === "string" ? manifest.version : "unknown"
})()

/** The model layer for `--model`, or from the environment with the simulator as fallback. */
const resolveModel = (
  flag: Option.Option<string>,
  limiter: RateControl.Service,
  timeoutSeconds: Option.Option<number>
) =>
  Effect.map(resolveModelId(flag), ({ modelId, notice }) => ({
    modelId,
    notice,
    layer: modelLayer(modelId, {
      limiter,
      timeout: Option.match(timeoutSeconds, { onNone: () => undefined, onSome: (s) => Duration.seconds(s) })
    })
  }))

const programOption = Options.text("program").pipe(
  Options.withAlias("p"),
  Options.withDefault("qa"),
  Options.withDescription(
    `A built-in program (${Object.keys(Programs.builtIns).join(", ")}) or a module file whose default export is a module`
  )
)
const modelOption = Options.text("model").pipe(
  Options.withAlias("m"),
  Options.optional,
  Options.withDescription(
    "Model id, e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, google/gemini-2.0-flash, openai-compatible/llama3.1:8b, simulator/sim-1 (default: EFFECT_DSPY_MODEL, a configured key, else the offline simulator)"
  )
)
const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print the summary as one JSON object on stdout"))

/** An integer flag refused below `min`, with a message naming it. */
const atLeast = (name: string, min: number) =>
  Options.integer(name).pipe(
    Options.filterMap((n) => (n >= min ? Option.some(n) : Option.none()), `--${name} must be ${min} or more`)
  )

const batchCommand = Command.make(
  "batch",
  {
    program: programOption,
    input: Options.text("input").pipe(Options.withAlias("i"), Options.withDescription("Input file: JSONL, or CSV with a header")),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("Output JSONL file; an existing one is resumed (finished items are skipped)")
    ),
    format: Options.choice("format", ["jsonl", "csv"]).pipe(Options.optional, Options.withDescription("Input format (default: by extension)")),
    concurrency: atLeast("concurrency", 1).pipe(Options.withAlias("c"), Options.withDefault(10), Options.withDescription("Items at once")),
    rpm: atLeast("rpm", 1).pipe(Options.optional, Options.withDescription("Requests per minute")),
    tpm: atLeast("tpm", 1).pipe(Options.optional, Options.withDescription("Tokens per minute")),
    model: modelOption,
    maxErrors: atLeast("max-errors", 0).pipe(Options.optional, Options.withDescription("Stop when more items than this have failed")),
    maxConnectionFailures: atLeast("max-connection-failures", 1).pipe(
      Options.withDefault(5),
      Options.withDescription("Stop when this many items in a row cannot reach the server, none succeeding (a refused key stops at once)")
    ),
    cache: Options.text("cache").pipe(Options.optional, Options.withDescription("A JSONL cache file kept across runs")),
    noDedupe: Options.boolean("no-dedupe").pipe(Options.withDescription("Call the model for every item, even identical ones")),
    memoCapacity: atLeast("memo-capacity", 0).pipe(
      Options.withDefault(10_000),
      Options.withDescription("Finished results the in-run de-duplication remembers (a duplicate of a forgotten one calls the model again)")
    ),
    retryFailed: Options.boolean("retry-failed").pipe(Options.withDescription("Run again the items recorded as failures")),
    state: Options.text("state").pipe(Options.optional, Options.withDescription("Saved program state (JSON) to load into the program")),
    idField: Options.text("id-field").pipe(
      Options.withDefault("id"),
      Options.withDescription("Field holding an item's id (an item without one is line:N, N its line number)")
    ),
    timeout: atLeast("timeout", 1).pipe(Options.optional, Options.withDescription("Timeout of one model request, in seconds")),
    itemRetries: atLeast("item-retries", 0).pipe(
      Options.optional,
      Options.withDescription("Most retries of one item, across all its model calls (default: the retry policy's own limit per call)")
    ),
    json: jsonOption,
    cluster: Options.redacted("cluster").pipe(
      Options.optional,
      Options.withDescription("Run on a cluster's runners instead (PostgreSQL URL; needs --batch-id; see `effect-dspy runner`)")
    ),
    batchId: Options.text("batch-id").pipe(Options.optional, Options.withDescription("With --cluster: the batch's name (run again to resume)")),
    window: ClusterCommands.batchOptions.window
  },
  (args) =>
    Effect.scoped(Effect.gen(function*() {
      if (Option.isSome(args.cluster)) return yield* runOnCluster(args, args.cluster.value)
      const concurrency = args.concurrency
      const module = yield* Programs.load(args.program, { state: Option.getOrUndefined(args.state) })
      const limiter = yield* RateControl.make({
        maxConcurrency: concurrency,
        requestsPerMinute: Option.getOrUndefined(args.rpm),
        tokensPerMinute: Option.getOrUndefined(args.tpm)
      })
      const { layer, modelId, notice } = yield* resolveModel(args.model, limiter, args.timeout)
      if (notice !== undefined) yield* Console.error(`effect-dspy: ${notice}`)
      // build the model now, so that a missing key is reported before anything runs
      const model = yield* Layer.build(layer)
      const cache = Option.isSome(args.cache) ? yield* Cache.file(args.cache.value) : undefined
      const recorder = yield* BatchMetrics.makeRecorder({ concurrency, rateControl: limiter })
      const run = Batch.runFile(module, {
        input: args.input,
        output: args.output,
        format: Option.getOrUndefined(args.format),
        idField: args.idField,
        concurrency,
        maxErrors: Option.getOrUndefined(args.maxErrors),
        dedupe: !args.noDedupe,
        memoCapacity: args.memoCapacity,
        cache,
        cacheNamespace: modelId,
        retryFailed: args.retryFailed,
        maxConsecutiveConnectionFailures: args.maxConnectionFailures,
        retryBudget: Option.match(args.itemRetries, { onNone: () => undefined, onSome: (maxRetries) => ({ maxRetries }) }),
        recorder
      }).pipe(
        Effect.provide(model),
        Effect.provideService(RateControl.RateControl, limiter),
        Effect.catchTag("RunFailed", (error) => Effect.fail(runFailure(error, modelId))),
        Effect.onInterrupt(() =>
          Effect.flatMap(recorder.stats, (s) =>
            Console.error(
              `\neffect-dspy: interrupted after writing ${s.written} line(s) in this run (${s.resumed} item(s) done before); ` +
                `${args.output} is consistent: run the same command again to resume`
            ))
        )
      )
      const progress = isTTY() ? Progress.start(recorder.stats) : Progress.startPlain(recorder.stats)
      const summary = yield* Effect.zipRight(progress, run).pipe(Effect.scoped)
      if (args.json) {
        yield* Console.log(JSON.stringify({ program: args.program, model: modelId, input: args.input, ...summary }))
      } else {
        yield* Console.log(BatchMetrics.formatSummary(summary, `Summary (${args.program} on ${modelId}) -> ${args.output}`))
      }
      if (summary.stoppedEarly) {
        return yield* new CliFailure.CliFailure({
          reason: `stopped early: more than ${Option.getOrElse(args.maxErrors, () => 0)} items failed; ${summary.notAttempted} not attempted`,
          code: 1
        })
      }
    }))
).pipe(Command.withDescription("Run a program over every line of a JSONL or CSV file, resumably"))

/** `batch --cluster`: the flags that belong to runners are refused, the rest go to the coordinator. */
function runOnCluster(
  args: {
    readonly batchId: Option.Option<string>
    readonly model: Option.Option<string>
    readonly rpm: Option.Option<number>
    readonly tpm: Option.Option<number>
    readonly maxErrors: Option.Option<number>
    readonly cache: Option.Option<string>
    readonly timeout: Option.Option<number>
    readonly itemRetries: Option.Option<number>
  } & Omit<ClusterCommands.BatchArgs, "cluster" | "batchId">,
  cluster: Redacted.Redacted
) {
  return Effect.gen(function*() {
    if (Option.isNone(args.batchId)) return yield* new CliFailure.CliFailure({ reason: "--cluster needs --batch-id", code: 2 })
    const runnerFlags: ReadonlyArray<readonly [string, boolean]> = [
      ["--model", Option.isSome(args.model)],
      ["--rpm", Option.isSome(args.rpm)],
      ["--tpm", Option.isSome(args.tpm)],
      ["--timeout", Option.isSome(args.timeout)],
      ["--max-errors", Option.isSome(args.maxErrors)],
      ["--cache", Option.isSome(args.cache)],
      ["--item-retries", Option.isSome(args.itemRetries)]
    ]
    const refused = runnerFlags.filter(([, given]) => given).map(([flag]) => flag)
    if (refused.length > 0) {
      return yield* new CliFailure.CliFailure({
        reason: `with --cluster, ${refused.join(", ")} belong on the runners (effect-dspy runner …), not on the coordinator`,
        code: 2
      })
    }
    return yield* ClusterCommands.runBatch({ ...args, cluster, batchId: args.batchId.value })
  })
}

const exampleModes: ReadonlyArray<ExampleModes.Mode> = ["simple", "large", "rate-limited", "benchmark"]

const exampleCommand = Command.make(
  "example",
  {
    mode: Args.choice(exampleModes.map((m) => [m, m] as [string, ExampleModes.Mode]), { name: "mode" }),
    model: modelOption,
    items: Options.integer("items").pipe(Options.optional, Options.withDescription("Number of questions")),
    concurrency: Options.integer("concurrency").pipe(Options.withAlias("c"), Options.optional),
    latency: Options.text("latency").pipe(
      Options.optional,
      Options.withDescription("Simulator latency: 200, uniform:100-300, lognormal:400,0.4")
    ),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function*() {
      if (Option.isSome(args.model)) yield* ModelId.parse(args.model.value)
      // loaded on demand: the batch command does not need the simulator server
      const ExampleModes = yield* Effect.promise(() => import("./ExampleModes.js"))
      const report = yield* ExampleModes.run({
        mode: args.mode,
        model: Option.getOrUndefined(args.model),
        items: Option.getOrUndefined(args.items),
        concurrency: Option.getOrUndefined(args.concurrency),
        latency: Option.getOrUndefined(args.latency),
        progress: isTTY() && !args.json,
        print: (line) => (args.json ? Effect.void : Console.log(line))
      })
      yield* Console.log(args.json ? JSON.stringify(report) : ExampleModes.format(report))
    })
).pipe(Command.withDescription("Run the batch example offline: simple, large, rate-limited or benchmark"))

/**
 * The `effect-dspy` command.
 *
 * @since 0.2.0
 */
export const command = Command.make("effect-dspy").pipe(
  Command.withDescription("effect-dspy: run language-model programs over many inputs"),
  Command.withSubcommands([batchCommand, exampleCommand, ...ClusterCommands.commands])
)

/**
 * Runs the command on `argv` (as in `process.argv`) and returns the exit code, having written
 * any error as one line on stderr.
 *
 * @since 0.2.0
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<number, never, FileSystem.FileSystem | Path.Path | Terminal.Terminal | CommandExecutor.CommandExecutor> =>
  Command.run(command, { name: "effect-dspy", version })(argv).pipe(
    Effect.as(0),
    Effect.catchAll((error) => {
      // @effect/cli has already printed the usage problem
      if (ValidationError.isValidationError(error)) return Effect.succeed(2)
      const failure = CliFailure.fromError(error)
      return Effect.as(failure.reason === "" ? Effect.void : Console.error(`effect-dspy: ${failure.reason}`), failure.code)
    })
  )
