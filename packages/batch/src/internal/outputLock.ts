/**
 * An exclusive lock on an output file, so that two runs never append to one file (duplicate
 * lines, the same items paid for twice): a lock file next to it, created atomically (`link`),
 * that names the process holding it (pid and host). It is removed when the scope closes (the end of
 * the run, an error, Ctrl-C or SIGTERM). After a crash or `kill -9` it stays behind: a lock whose
 * process no longer runs on this host is stale and is taken over. A lock held from another host
 * cannot be checked, so it is refused with a message saying how to remove it.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import * as os from "node:os"

/** What a lock file holds. */
interface Holder {
  readonly pid: number
  readonly host: string
  readonly startedAt: string
  /** Tells our own lock from another's with the same pid (after a pid was reused). */
  readonly token: string
}

const readHolder = (text: string): Holder | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (
      Predicate.hasProperty(value, "pid") && typeof value.pid === "number" &&
      Predicate.hasProperty(value, "host") && typeof value.host === "string"
    ) {
      return {
        pid: value.pid,
        host: value.host,
        startedAt: Predicate.hasProperty(value, "startedAt") && typeof value.startedAt === "string" ? value.startedAt : "?",
        token: Predicate.hasProperty(value, "token") && typeof value.token === "string" ? value.token : ""
      }
    }
  } catch {
    // a lock file cut short by a crash while it was written: treated as stale below
  }
  return undefined
}

/** Whether a process runs on this host (`kill(pid, 0)`: EPERM means it runs under another user). */
const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return Predicate.hasProperty(error, "code") && error.code === "EPERM"
  }
}

/** Why the lock cannot be taken. */
export type Refusal = { readonly reason: string }

/**
 * Takes the lock `lockPath` for the scope, or fails with the reason it is held (a message for
 * the user). `what` names the locked file in messages.
 */
export const acquire = (
  lockPath: string,
  what: string
): Effect.Effect<void, Refusal, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const holder: Holder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), token: randomUUID() }
    const content = `${JSON.stringify(holder)}\n`
    const reasonOf = (error: unknown) => ({
      reason: `cannot create the lock file ${lockPath}: ${
        Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)
      }`
    })

    // Written whole to a file of our own, then linked into place: `link` fails if the lock
    // exists, and a lock that exists is never seen half written (which would look stale).
    const draft = `${lockPath}.${holder.token}`
    const create = Effect.acquireUseRelease(
      fs.writeFileString(draft, content, { flag: "wx" }),
      () => fs.link(draft, lockPath),
      () => Effect.ignore(fs.remove(draft))
    )

    // Two attempts: the second after removing a stale lock. (Two runs that find the same stale
    // lock at the same instant could both remove it; one of them then fails to create its own
    // and is refused, which is the safe way round. The remaining window, a run removing a lock
    // another run created between the first's read and its remove, needs both to start within
    // microseconds of each other after a crash.)
    for (let attempt = 0; attempt < 2; attempt++) {
      const created = yield* Effect.either(create)
      if (created._tag === "Right") {
        yield* Effect.addFinalizer(() =>
          // removed only if it is still ours
          fs.readFileString(lockPath).pipe(
            Effect.flatMap((text) => (readHolder(text)?.token === holder.token ? fs.remove(lockPath) : Effect.void)),
            Effect.ignore
          )
        )
        return
      }
      const error = created.left
      if (!(Predicate.hasProperty(error, "reason") && error.reason === "AlreadyExists")) return yield* Effect.fail(reasonOf(error))
      const text = yield* fs.readFileString(lockPath).pipe(Effect.orElseSucceed(() => ""))
      const other = readHolder(text)
      if (other !== undefined && other.host !== holder.host) {
        return yield* Effect.fail({
          reason: `another run is writing ${what} (process ${other.pid} on host ${other.host}, since ${other.startedAt}); ` +
            `if it is no longer running, delete ${lockPath} and start again`
        })
      }
      if (other !== undefined && isRunning(other.pid)) {
        return yield* Effect.fail({
          reason: `another run is writing ${what} (process ${other.pid}, since ${other.startedAt}): ` +
            `wait for it to end, or stop it; a second run on the same output would write every item twice`
        })
      }
      // stale: its process is gone (or the file is not a lock we wrote)
      yield* fs.remove(lockPath).pipe(Effect.catchAll((e) => Effect.fail(reasonOf(e))))
    }
    return yield* Effect.fail({ reason: `another run took the lock ${lockPath} at the same moment` })
  })
