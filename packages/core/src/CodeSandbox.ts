/**
 * `CodeSandbox`: runs code a model wrote where it can do no harm (`ProgramOfThought`'s
 * programs). `layerQuickJs` runs JavaScript in QuickJS compiled to WebAssembly
 * (`quickjs-emscripten`), on a worker thread:
 *
 * - the program sees the language's built-ins and nothing else: no `require`, no `import`, no
 *   `process`, no `fetch`, no file or network access of any kind (QuickJS's `std` and `os`
 *   modules are not there); `console.log` is captured and `SUBMIT(value)` records the answer;
 * - each run starts from a fresh runtime (nothing survives between runs), with a memory limit
 *   and a stack limit that end it with an error;
 * - time is bounded twice: QuickJS's interrupt handler stops the program at its deadline, and a
 *   run that does not come back a moment later (stuck in one long native call) has its worker
 *   thread terminated, so the caller's event loop is never blocked.
 *
 * No `eval` and no `node:vm` (which is not a security boundary) anywhere on the host's side.
 * `layerQuickJs` needs Node (`node:worker_threads`); the `CodeSandbox` interface is yours to
 * implement elsewhere.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * What a program gave: the value it passed to `SUBMIT` (if it called it), the value of its
 * last expression statement, and what it printed, each as JSON text (`undefined` when absent).
 *
 * @since 0.2.0
 */
export interface Result {
  readonly submitted: string | undefined
  readonly value: string | undefined
  readonly printed: string
}

/**
 * Why a program did not give a result: `syntax` and `runtime` errors are the program's;
 * `timeout`, `memory` and `stack` are the sandbox's limits; `sandbox` is the sandbox failing.
 *
 * @since 0.2.0
 */
export class CodeError extends Schema.TaggedError<CodeError>("@effect-dspy/core/CodeError")("CodeError", {
  kind: Schema.Literal("syntax", "runtime", "timeout", "memory", "stack", "sandbox"),
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * A sandbox.
 *
 * @since 0.2.0
 */
export interface Service {
  /** Runs a program (JavaScript for `layerQuickJs`). */
  readonly run: (code: string) => Effect.Effect<Result, CodeError>
  /** The language of the programs it runs, for prompts (`JavaScript`). */
  readonly language: string
}

/**
 * The sandbox in context.
 *
 * @since 0.2.0
 */
export class CodeSandbox extends Context.Tag("@effect-dspy/core/CodeSandbox")<CodeSandbox, Service>() {}

/**
 * Limits of `layerQuickJs`.
 *
 * @since 0.2.0
 */
export interface Options {
  /** How long a program may run (default 2 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Memory a program may allocate (default 32 MiB). */
  readonly memoryLimitBytes?: number | undefined
  /** Stack a program may use (default 256 KiB, at most 256 KiB: deeper would overflow the host's). */
  readonly maxStackBytes?: number | undefined
  /** Most characters of printed output kept (default 10,000). */
  readonly maxPrintedChars?: number | undefined
}

/** One run, as the worker receives it. */
interface Request {
  readonly id: number
  readonly code: string
  readonly timeoutMillis: number
  readonly memoryLimitBytes: number
  readonly maxStackBytes: number
  readonly maxPrintedChars: number
}

/** What the worker answers: that it started the run (the engine is loaded), then the result. */
type Reply =
  | { readonly id: number; readonly started: true }
  | { readonly id: number; readonly ok: true; readonly submitted?: string; readonly value?: string; readonly printed: string }
  | { readonly id: number; readonly ok: false; readonly kind: CodeError["kind"]; readonly detail: string }

// The worker's program (CommonJS, given as text: no file to find next to a compiled or a source
// module). It loads QuickJS once, then runs each request in a fresh runtime and context.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const { newQuickJSWASMModuleFromVariant } = require(workerData.core)
const ready = newQuickJSWASMModuleFromVariant(require(workerData.variant).default)

const json = (value) => {
  if (value === undefined) return undefined
  try { return JSON.stringify(value) } catch { return JSON.stringify(String(value)) }
}

const classify = (error, interrupted) => {
  const name = error && typeof error === "object" ? String(error.name ?? "Error") : "Error"
  const message = error && typeof error === "object" ? String(error.message ?? "") : String(error)
  if (interrupted || message === "interrupted") return { kind: "timeout", detail: "the program ran past its time limit" }
  if (message === "out of memory" || message === "string too long" || message === "invalid array length")
    return { kind: "memory", detail: "the program ran out of memory (" + message + ")" }
  if (message === "stack overflow") return { kind: "stack", detail: "the program overflowed its stack" }
  return { kind: name === "SyntaxError" ? "syntax" : "runtime", detail: name + ": " + message }
}

const run = (QuickJS, request) => {
  const runtime = QuickJS.newRuntime()
  runtime.setMemoryLimit(request.memoryLimitBytes)
  runtime.setMaxStackSize(request.maxStackBytes)
  const deadline = Date.now() + request.timeoutMillis
  let interrupted = false
  runtime.setInterruptHandler(() => (interrupted = Date.now() > deadline))
  const vm = runtime.newContext()
  let printed = ""
  let submitted
  try {
    const submit = vm.newFunction("SUBMIT", (handle) => { submitted = handle === undefined ? null : vm.dump(handle) })
    vm.setProp(vm.global, "SUBMIT", submit)
    submit.dispose()
    const log = vm.newFunction("log", (...handles) => {
      const line = handles.map((h) => { const v = vm.dump(h); return typeof v === "string" ? v : json(v) }).join(" ")
      printed = (printed + line + "\\n").slice(0, request.maxPrintedChars)
    })
    const consoleObject = vm.newObject()
    vm.setProp(consoleObject, "log", log)
    vm.setProp(vm.global, "console", consoleObject)
    log.dispose()
    consoleObject.dispose()
    const result = vm.evalCode(request.code, "program.js")
    if (result.error) {
      const error = vm.dump(result.error)
      result.error.dispose()
      return { id: request.id, ok: false, ...classify(error, interrupted) }
    }
    const jobs = runtime.executePendingJobs()
    if (jobs.error) {
      const error = vm.dump(jobs.error)
      jobs.error.dispose()
      return { id: request.id, ok: false, ...classify(error, interrupted) }
    }
    // A program whose last value is a promise gives what the promise settled to.
    const state = vm.getPromiseState(result.value)
    let value
    if (state.type === "rejected") {
      const error = vm.dump(state.error)
      state.error.dispose()
      if (result.value.alive) result.value.dispose()
      return { id: request.id, ok: false, ...classify(error, interrupted) }
    }
    if (state.type === "fulfilled") {
      value = vm.dump(state.value)
      if (!state.notAPromise && state.value.alive) state.value.dispose()
    }
    if (result.value.alive) result.value.dispose()
    return { id: request.id, ok: true, submitted: json(submitted), value: json(value), printed }
  } finally {
    vm.dispose()
    runtime.dispose()
  }
}

parentPort.on("message", async (request) => {
  const QuickJS = await ready
  parentPort.postMessage({ id: request.id, started: true })
  let reply
  try {
    reply = run(QuickJS, request)
  } catch (error) {
    // The host's own stack or memory gave out inside the engine: answer, then end this worker
    // (its engine may be left in a bad state); the next run starts a new one.
    const message = String(error && error.message)
    const kind = /call stack/i.test(message) ? "stack" : "sandbox"
    parentPort.postMessage({ id: request.id, ok: false, kind, detail: kind === "stack" ? "the program overflowed its stack" : message })
    process.exit(1)
  }
  parentPort.postMessage(reply)
})
`

/** The part of `node:worker_threads`' Worker the layer uses. */
interface WorkerLike {
  postMessage(message: Request): void
  on(event: "message", listener: (reply: Reply) => void): unknown
  on(event: "error", listener: (error: Error) => void): unknown
  on(event: "exit", listener: (code: number) => void): unknown
  off(event: string, listener: (...args: Array<never>) => void): unknown
  terminate(): Promise<number>
  unref(): void
}

/**
 * A JavaScript sandbox: QuickJS in WebAssembly on a worker thread (Node). Runs are one at a
 * time; the worker is started on first use and stopped with the layer.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { CodeSandbox } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const sandbox = yield* CodeSandbox.CodeSandbox
 *   const result = yield* sandbox.run("SUBMIT({ answer: [1, 2, 3].reduce((a, b) => a + b) })")
 *   return result.submitted // '{"answer":6}'
 * })
 * Effect.runPromise(program.pipe(Effect.provide(CodeSandbox.layerQuickJs({ timeout: "1 second" }))))
 * ```
 */
export const layerQuickJs = (options?: Options): Layer.Layer<CodeSandbox, CodeError> =>
  Layer.scoped(
    CodeSandbox,
    Effect.gen(function*() {
      const timeoutMillis = Duration.toMillis(Duration.decode(options?.timeout ?? "2 seconds"))
      const limits = {
        timeoutMillis,
        memoryLimitBytes: options?.memoryLimitBytes ?? 32 * 1024 * 1024,
        maxStackBytes: Math.min(options?.maxStackBytes ?? 256 * 1024, 256 * 1024),
        maxPrintedChars: options?.maxPrintedChars ?? 10_000
      }
      // Loaded when the layer is built, so that core itself loads no Node module; the engine is
      // loaded here too, so that a missing package fails the layer, not a run.
      // A missing package or a runtime without worker threads is a typed `sandbox` error of the
      // layer, naming what to install, never a defect.
      const { Worker, workerData } = yield* Effect.tryPromise({
        try: async () => {
          await Promise.all([import("quickjs-emscripten-core"), import("@jitl/quickjs-wasmfile-release-sync")])
          const { Worker } = await import("node:worker_threads")
          const { createRequire } = await import("node:module")
          const require = createRequire(import.meta.url)
          const workerData = {
            core: require.resolve("quickjs-emscripten-core"),
            variant: require.resolve("@jitl/quickjs-wasmfile-release-sync")
          }
          return { Worker, workerData }
        },
        catch: (error) =>
          new CodeError({
            kind: "sandbox",
            detail: `CodeSandbox.layerQuickJs: QuickJS cannot be loaded (install quickjs-emscripten-core and ` +
              `@jitl/quickjs-wasmfile-release-sync; it needs Node's worker threads): ${String(error)}`
          })
      })
      let current: WorkerLike | undefined
      let nextId = 0
      const stop = Effect.promise(async () => {
        const worker = current
        current = undefined
        if (worker !== undefined) await worker.terminate()
      })
      yield* Effect.addFinalizer(() => stop)
      const start = (): WorkerLike => {
        const worker: WorkerLike = new Worker(workerSource, { eval: true, workerData })
        worker.unref()
        worker.on("exit", () => {
          if (current === worker) current = undefined
        })
        current = worker
        return worker
      }
      const lock = yield* Effect.makeSemaphore(1)
      // The engine's own deadline answers first; this one, counted from the moment the worker
      // starts the run (not from its start-up), catches a program stuck in one long native call,
      // which the engine cannot interrupt: its worker is ended.
      const hardDeadline = Duration.millis(timeoutMillis + Math.max(250, timeoutMillis / 2))
      const timedOut = new CodeError({ kind: "timeout", detail: "the program ran past its time limit" })
      const once = (code: string) =>
        Effect.gen(function*() {
          const worker = current ?? start()
          const id = ++nextId
          const started = yield* Deferred.make<void>()
          const done = yield* Deferred.make<Result, CodeError>()
          const onMessage = (reply: Reply) => {
            if (reply.id !== id) return
            if ("started" in reply) return Deferred.unsafeDone(started, Exit.void)
            Deferred.unsafeDone(
              done,
              reply.ok
                ? Exit.succeed({ submitted: reply.submitted, value: reply.value, printed: reply.printed })
                : Exit.fail(new CodeError({ kind: reply.kind, detail: reply.detail }))
            )
          }
          const onError = (error: Error) =>
            Deferred.unsafeDone(done, Exit.fail(new CodeError({ kind: "sandbox", detail: `the sandbox failed: ${error.message}` })))
          const onExit = () =>
            Deferred.unsafeDone(done, Exit.fail(new CodeError({ kind: "sandbox", detail: "the sandbox stopped before answering" })))
          const cleanup = Effect.sync(() => {
            worker.off("message", onMessage)
            worker.off("error", onError)
            worker.off("exit", onExit)
          })
          worker.on("message", onMessage)
          worker.on("error", onError)
          worker.on("exit", onExit)
          worker.postMessage({ id, code, ...limits })
          const result = Effect.zipRight(
            Effect.raceFirst(Deferred.await(started), Deferred.await(done)),
            Effect.timeoutOption(Deferred.await(done), hardDeadline)
          )
          return yield* result.pipe(
            Effect.flatMap(Option.match({
              onNone: () => Effect.zipRight(stop, Effect.fail(timedOut)),
              onSome: Effect.succeed
            })),
            Effect.ensuring(cleanup),
            // Interrupted: the worker may be busy in the program, so it is ended; the next run
            // starts a new one.
            Effect.onInterrupt(() => current === worker ? stop : Effect.void)
          )
        })
      const run = (code: string) => lock.withPermits(1)(once(code))
      return { run, language: "JavaScript" }
    })
  )
