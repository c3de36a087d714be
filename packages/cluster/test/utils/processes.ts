/**
 * Runners and coordinators as real processes (the package's bin under tsx), a simulator server
 * in the test process counting the model calls, and polling waits on the live clock.
 */
import { SimulatorServer } from "@effect-dspy/simulator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Pg from "./postgres.js"

const root = fileURLToPath(new URL("../../../..", import.meta.url))
// the effect-dspy command on the sources (the cli package mounts the cluster commands)
const bin = fileURLToPath(new URL("../../../cli/src/bin.ts", import.meta.url))

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly hasExited: () => boolean
  readonly output: () => string
}

/** Starts the bin with `args`; killed (SIGKILL) when the scope closes, if still running. */
export const start = (name: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], {
        cwd: root,
        env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", EFFECT_DSPY_LOG_LEVEL: "warning", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (chunk: Buffer) => void (output += chunk.toString()))
      child.stderr!.on("data", (chunk: Buffer) => void (output += chunk.toString()))
      let exited = false
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, signal) => {
          exited = true
          resolve({ code, signal })
        })
      )
      return { name, process: child, exited: done, hasExited: () => exited, output: () => output }
    }),
    (child) =>
      Effect.promise(async () => {
        if (!child.hasExited()) {
          child.process.kill("SIGKILL")
          await child.exited
        }
      })
  )

/** Waits for the child's exit; dies with the outputs of `watch` (and the child) after `timeoutMillis`. */
export const exit = (child: Child, options: { readonly watch?: ReadonlyArray<Child>; readonly timeoutMillis?: number } = {}) =>
  Effect.promise(() => child.exited).pipe(
    Effect.timeoutFail({
      duration: options.timeoutMillis ?? 180_000,
      onTimeout: () => {
        const outputs = [child, ...(options.watch ?? [])].map((c) => `--- ${c.name}\n${c.output().slice(-3000)}`).join("\n")
        return new Error(`${child.name} did not exit in time\n${outputs}`)
      }
    }),
    Effect.orDie
  )

/** Polls (live clock) until `condition` holds; dies if a watched child exits first or `timeout` passes. */
export const waitFor = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  options: { readonly watch?: ReadonlyArray<Child>; readonly timeoutMillis?: number } = {}
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + (options.timeoutMillis ?? 180_000)
    while (!(yield* condition)) {
      for (const child of options.watch ?? []) {
        if (child.hasExited()) return yield* Effect.die(new Error(`${child.name} exited before ${what}:\n${child.output()}`))
      }
      if (Date.now() > deadline) {
        const outputs = (options.watch ?? []).map((c) => `--- ${c.name}\n${c.output().slice(-3000)}`).join("\n")
        return yield* Effect.die(new Error(`timed out waiting for ${what}\n${outputs}`))
      }
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
    }
  })

/** A temporary folder, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-dspy-cluster-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Writes `n` questions with ids `q1`… */
export const writeItems = (file: string, n: number) =>
  fs.writeFileSync(
    file,
    Array.from({ length: n }, (_, i) => JSON.stringify({ id: `q${i + 1}`, question: `question number ${i + 1}` })).join("\n") + "\n"
  )

/** The output file's records (complete lines), and whether a torn line follows. */
export const readOutput = (file: string) => {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
  const parts = text.split("\n")
  const torn = parts.pop() !== ""
  return { records: parts.map((l) => JSON.parse(l) as { id: string; status: string }), torn }
}

/** A SQL client on a database, in the scope. */
export const sqlOn = (url: string) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const context = yield* Layer.buildWithScope(Pg.client(url), scope)
    return yield* Effect.provide(SqlClient.SqlClient, context)
  })

/** Rows of the results table for a batch. */
export const resultCount = (sql: SqlClient.SqlClient, batchId: string) =>
  Effect.map(
    sql<{ n: string; distinct_ids: string }>`SELECT count(*) AS n, count(DISTINCT item_id) AS distinct_ids FROM effect_dspy_results WHERE batch_id = ${batchId}`,
    (rows) => ({ rows: Number(rows[0]?.n ?? 0), distinct: Number(rows[0]?.distinct_ids ?? 0) })
  ).pipe(Effect.orElseSucceed(() => ({ rows: 0, distinct: 0 })))

/** Runners registered as serving. */
export const servingRunners = (sql: SqlClient.SqlClient) =>
  Effect.map(sql<{ n: string }>`SELECT count(*) AS n FROM effect_dspy_runners`, (rows) => Number(rows[0]?.n ?? 0)).pipe(
    Effect.orElseSucceed(() => 0)
  )

/** The arguments of a runner on the simulator. */
export const runnerArgs = (url: string, port: number, extra: ReadonlyArray<string> = []) => [
  "runner",
  "--cluster",
  url,
  "--listen",
  `127.0.0.1:${port}`,
  "--model",
  "openai-compatible/sim-1",
  "--health-check-interval",
  "1",
  ...extra
]

/** The environment pointing the model at the simulator. */
export const simulatorEnv = (server: SimulatorServer.Service) => ({ OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1` })

export type { Scope }
