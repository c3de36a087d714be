/**
 * A PostgreSQL server of your own on this machine, for trying a distributed batch out, for tests
 * and for benchmarks: `initdb` into a folder, `pg_ctl start` on a loopback port, `pg_ctl stop`
 * when the scope closes (and the folder removed, when it was a temporary one).
 *
 * The binaries are looked up in `EFFECT_DSPY_PG_BIN`, then on `PATH`, then in the usual install
 * folders (`/usr/lib/postgresql/<version>/bin` on Debian and Ubuntu, Homebrew's). `initdb`
 * refuses to run as root: as root, the server runs as the OS user `EFFECT_DSPY_PG_USER`
 * (default `postgres`, which Debian's package creates) through `runuser`.
 *
 * The server is tuned for throwaway data (`fsync=off`): do not keep anything you care about in it.
 *
 * @example
 * ```ts
 * import * as LocalPostgres from "@effect-dspy/cluster/LocalPostgres"
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const server = yield* LocalPostgres.make()
 *   yield* Effect.log(`PostgreSQL at ${server.url}`)
 * })).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.2.0
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Net from "node:net"

/**
 * The local server could not be found, set up, started or stopped.
 *
 * @since 0.2.0
 */
export class LocalPostgresError extends Schema.TaggedError<LocalPostgresError>("@effect-dspy/cluster/LocalPostgresError")(
  "LocalPostgresError",
  { reason: Schema.String }
) {
  override get message(): string {
    return `local PostgreSQL: ${this.reason}`
  }
}

/**
 * A running local server.
 *
 * @since 0.2.0
 */
export interface LocalPostgres {
  /** The connection URL of its `postgres` database, e.g. `postgres://postgres@127.0.0.1:54321/postgres`. */
  readonly url: string
  readonly port: number
  readonly dataDirectory: string
  /** Stops the server (fast shutdown: open connections are closed). */
  readonly stop: Effect.Effect<void, LocalPostgresError>
  /** Starts it again on the same port, with its data. */
  readonly start: Effect.Effect<void, LocalPostgresError>
  /** Creates a database and returns its URL. */
  readonly createDatabase: (name: string) => Effect.Effect<string, LocalPostgresError>
}

/**
 * Options of `make`.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Where the data lives; kept when the scope closes. Default: a temporary folder, removed. */
  readonly directory?: string | undefined
  /** Port on 127.0.0.1. Default: a free one. */
  readonly port?: number | undefined
}

const reasonOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

const fail = (reason: string) => new LocalPostgresError({ reason })

/** Runs a command to its end; its stdout and stderr, merged, and its exit code. */
const run = (command: Command.Command): Effect.Effect<{ readonly code: number; readonly output: string }, LocalPostgresError, CommandExecutor.CommandExecutor> =>
  Effect.scoped(Effect.gen(function*() {
    const process = yield* Command.start(command)
    const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
      Stream.runCollect(Stream.decodeText(stream)).pipe(Effect.map((chunks) => Chunk.join(chunks, "")))
    const [stdout, stderr, code] = yield* Effect.all([collect(process.stdout), collect(process.stderr), process.exitCode], {
      concurrency: 3
    })
    return { code, output: `${stdout}${stderr}`.trim() }
  })).pipe(Effect.mapError((error) => fail(`cannot run ${command.toString()}: ${reasonOf(error)}`)))

const required = ["initdb", "pg_ctl", "createdb"] as const

/**
 * The folder holding `initdb`, `pg_ctl` and `createdb`, if any is found.
 *
 * @since 0.2.0
 */
export const findBinaries: Effect.Effect<Option.Option<string>, never, FileSystem.FileSystem | Path.Path> = Effect.gen(
  function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const candidates: Array<string> = []
    const fromEnv = process.env["EFFECT_DSPY_PG_BIN"]
    if (fromEnv !== undefined && fromEnv !== "") candidates.push(fromEnv)
    for (const dir of (process.env["PATH"] ?? "").split(process.platform === "win32" ? ";" : ":")) if (dir !== "") candidates.push(dir)
    // Debian and Ubuntu install the binaries per major version, newest first
    const debian = "/usr/lib/postgresql"
    const versions = yield* fs.readDirectory(debian).pipe(Effect.orElseSucceed(() => [] as Array<string>))
    for (const v of versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))) {
      candidates.push(path.join(debian, v, "bin"))
    }
    candidates.push("/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin")
    for (const dir of candidates) {
      const found = yield* Effect.forEach(required, (name) => fs.exists(path.join(dir, name)).pipe(Effect.orElseSucceed(() => false)))
      if (found.every(Boolean)) return Option.some(dir)
    }
    return Option.none()
  }
)

/**
 * A free TCP port on 127.0.0.1 (released before returning: another process could take it first).
 *
 * @since 0.2.0
 */
export const freePort: Effect.Effect<number, LocalPostgresError> = Effect.async((resume) => {
  const server = Net.createServer()
  server.once("error", (error) => resume(Effect.fail(fail(`no free port: ${error.message}`))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** As root, commands run as this OS user (initdb refuses root). */
const osUser = () => process.env["EFFECT_DSPY_PG_USER"] ?? "postgres"
const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/**
 * Starts a local server in the scope: `initdb` (when the folder holds no cluster yet), then
 * `pg_ctl start` on 127.0.0.1 only (no Unix socket). It is stopped when the scope closes.
 *
 * @since 0.2.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  LocalPostgres,
  LocalPostgresError,
  Scope.Scope | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const executor = yield* CommandExecutor.CommandExecutor
    // the server's operations outlive this call: they carry the executor with them
    const withExecutor = <A, E>(effect: Effect.Effect<A, E, CommandExecutor.CommandExecutor>) =>
      Effect.provideService(effect, CommandExecutor.CommandExecutor, executor)
    const bin = yield* findBinaries
    if (Option.isNone(bin)) {
      return yield* fail(
        "initdb, pg_ctl and createdb were not found (install PostgreSQL, e.g. `apt-get install postgresql`, or set EFFECT_DSPY_PG_BIN to the folder holding them)"
      )
    }
    const binary = (name: (typeof required)[number]) => path.join(bin.value, name)
    const asServerUser = (name: (typeof required)[number], ...args: Array<string>): Command.Command =>
      isRoot() ? Command.make("runuser", "-u", osUser(), "--", binary(name), ...args) : Command.make(binary(name), ...args)

    const root = options.directory === undefined
      ? yield* fs.makeTempDirectoryScoped({ prefix: "effect-dspy-pg-" }).pipe(Effect.mapError((e) => fail(reasonOf(e))))
      : path.resolve(options.directory)
    yield* fs.makeDirectory(root, { recursive: true }).pipe(Effect.mapError((e) => fail(reasonOf(e))))
    if (isRoot()) {
      // the server's user must own its folders
      const ids = yield* run(Command.make("id", "-u", osUser())).pipe(
        Effect.zip(run(Command.make("id", "-g", osUser())))
      )
      const [uid, gid] = [Number(ids[0].output), Number(ids[1].output)]
      if (ids[0].code !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
        return yield* fail(
          `running as root, the server needs an OS user to run as: user "${osUser()}" does not exist (create it, or set EFFECT_DSPY_PG_USER)`
        )
      }
      yield* fs.chown(root, uid, gid).pipe(Effect.mapError((e) => fail(reasonOf(e))))
    }
    const dataDirectory = path.join(root, "data")
    const logFile = path.join(root, "server.log")
    const hasCluster = yield* fs.exists(path.join(dataDirectory, "PG_VERSION")).pipe(Effect.orElseSucceed(() => false))
    if (!hasCluster) {
      const init = yield* run(asServerUser("initdb", "-D", dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"))
      if (init.code !== 0) return yield* fail(`initdb failed: ${init.output}`)
    }
    const port = options.port ?? (yield* freePort)
    const settings = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      "-c unix_socket_directories=''",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200"
    ].join(" ")
    const readLog = fs.readFileString(logFile).pipe(Effect.map((text) => text.trim().split("\n").slice(-5).join("\n")), Effect.orElseSucceed(() => ""))

    const start = withExecutor(Effect.gen(function*() {
      const started = yield* run(asServerUser("pg_ctl", "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", settings, "start"))
      if (started.code !== 0) return yield* fail(`pg_ctl start failed: ${started.output}\n${yield* readLog}`)
    }))
    const stop = withExecutor(Effect.gen(function*() {
      const stopped = yield* run(asServerUser("pg_ctl", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"))
      // "is the server running?" (already stopped) is not a failure of stop
      if (stopped.code !== 0 && !/no server running|is the server running/i.test(stopped.output)) {
        return yield* fail(`pg_ctl stop failed: ${stopped.output}`)
      }
    }))

    yield* Effect.acquireRelease(start, () => Effect.ignore(stop))
    const host = `127.0.0.1:${port}`
    return {
      url: `postgres://postgres@${host}/postgres`,
      port,
      dataDirectory,
      stop,
      start,
      createDatabase: (name) =>
        withExecutor(Effect.gen(function*() {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return yield* fail(`bad database name ${JSON.stringify(name)}`)
          const created = yield* run(Command.make(binary("createdb"), "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name))
          if (created.code !== 0) return yield* fail(`createdb ${name} failed: ${created.output}`)
          return `postgres://postgres@${host}/${name}`
        }))
    }
  })
