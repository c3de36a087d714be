/**
 * The output file of a batch, which is also its checkpoint: one JSON line per finished item,
 * appended as soon as the item finishes (items that finish together in one `write`) on a file
 * opened `O_APPEND`, so that a crash (even SIGKILL) leaves whole lines plus at most one torn
 * last line.
 *
 * Opening an existing file resumes it: the torn last line (no trailing newline) is cut off, and
 * the ids of the finished items are remembered so that the run skips them. Failure lines of
 * input lines that could not be read (a malformed line, a duplicate id: they cost no model
 * call) are dropped, so that those lines are read again: fixed in the input, they run; still
 * wrong, they get their failure line again. Ids that are line numbers (`line:N`) or small
 * integers are kept in bitmaps, so resuming a million-line run stays cheap.
 *
 * One run at a time: `open` takes an exclusive lock on the file (a `.lock` file next to it,
 * naming the process), held until the scope closes; a second run on the same file is refused.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { DoneSet } from "./internal/doneSet.js"
import { LineSplitter } from "./internal/lines.js"
import * as OutputLock from "./internal/outputLock.js"
import type * as Outcome from "./Outcome.js"

/**
 * The output file cannot be opened, read or locked (nothing was written).
 *
 * @since 0.1.0
 */
export class CheckpointError extends Schema.TaggedError<CheckpointError>("@effect-dspy/batch/CheckpointError")(
  "CheckpointError",
  { path: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `cannot use output file ${this.path}: ${this.reason}`
  }
}

/**
 * A line could not be appended to the output file during the run (the disk is full, the file
 * system went read-only). What the file holds is consistent: every finished item in it is a
 * whole line (a line cut by the failure is removed when the run resumes).
 *
 * @since 0.2.0
 */
export class WriteError extends Schema.TaggedError<WriteError>("@effect-dspy/batch/WriteError")("WriteError", {
  path: Schema.String,
  reason: Schema.String,
  /** Whether the disk (or the user's quota) is full. */
  diskFull: Schema.Boolean,
  /** Lines this run wrote before the failure. */
  linesWritten: Schema.Number
}) {
  override get message(): string {
    return `cannot write to output file ${this.path}: ${this.diskFull ? "no space left on the device" : this.reason}. ` +
      `The file is consistent (${this.linesWritten} line(s) written by this run, every finished item a whole line): ` +
      `${this.diskFull ? "free some space, then " : ""}run the same command again to resume`
  }
}

/**
 * What was found in an existing output file.
 *
 * @since 0.1.0
 */
export interface Resumed {
  /** Finished items found (successes and failures kept). */
  readonly items: number
  readonly succeeded: number
  readonly failed: number
  /** Failure lines dropped so that those items run again (`retryFailed`). */
  readonly retried: number
  /** Failure lines of unreadable input lines, dropped so that those lines are read again. */
  readonly inputFailures: number
  /** Bytes of a torn last line that were cut off. */
  readonly tornBytes: number
  /** Complete lines that were not a readable record (ignored). */
  readonly unreadableLines: number
}

/**
 * An open output file.
 *
 * @since 0.1.0
 */
export interface Checkpoint {
  readonly path: string
  /** Whether an item id is already finished in the file. */
  readonly isDone: (id: string) => boolean
  readonly resumed: Resumed
  /** Appends one record as one line, in one write. */
  readonly append: (record: Outcome.Record) => Effect.Effect<void, WriteError>
  /**
   * Appends records as lines, all in one write (what a run does with the outcomes that finished
   * together: one system call and one completion instead of one per line). Failing part-way
   * (a full disk), the file holds whole lines and at most one torn last line, as after a crash,
   * and the error's `linesWritten` counts the whole lines that landed.
   *
   * @since 0.2.0
   */
  readonly appendAll: (records: Iterable<Outcome.Record>) => Effect.Effect<void, WriteError>
  /** Lines appended since the file was opened. */
  readonly linesWritten: Effect.Effect<number>
}

/**
 * Options of `open`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Drop the failure lines of an earlier run so that those items are tried again. Default false. */
  readonly retryFailed?: boolean | undefined
}

const reasonOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

const isDiskFull = (error: unknown): boolean => {
  const cause = Predicate.hasProperty(error, "cause") ? error.cause : undefined
  const code = Predicate.hasProperty(cause, "code") ? cause.code : undefined
  return code === "ENOSPC" || code === "EDQUOT" || /\b(?:ENOSPC|EDQUOT)\b/.test(reasonOf(error))
}

/** The id and status of a record line, and whether it records an input line that could not be read. */
interface LineInfo {
  readonly id: string
  readonly status: string
  readonly unreadableInput: boolean
}

const decoder = new TextDecoder()

const lineInfo = (bytes: Uint8Array): LineInfo | undefined => {
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes))
    if (Predicate.hasProperty(value, "id") && typeof value.id === "string" && Predicate.hasProperty(value, "status")) {
      const status = String(value.status)
      // a failure that carries the raw line (and no input) is an input line that could not be read
      const unreadableInput = status === "failure" && Predicate.hasProperty(value, "raw") && !Predicate.hasProperty(value, "input")
      return { id: value.id, status, unreadableInput }
    }
  } catch {
    // not JSON
  }
  return undefined
}

interface Scan {
  readonly done: DoneSet
  succeeded: number
  failed: number
  retried: number
  inputFailures: number
  unreadable: number
  /** Bytes of complete lines (up to and including the last newline). */
  goodBytes: number
  totalBytes: number
}

/**
 * Reads an existing output file line by line (lazily, flat memory). `keep` receives, per chunk
 * read, the complete lines that stay in the file (each with its newline).
 */
const scan = (
  path: string,
  retryFailed: boolean,
  keep: ((lines: Uint8Array) => Effect.Effect<void, CheckpointError>) | undefined
): Effect.Effect<Scan, CheckpointError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const state: Scan = {
      done: new DoneSet(),
      succeeded: 0,
      failed: 0,
      retried: 0,
      inputFailures: 0,
      unreadable: 0,
      goodBytes: 0,
      totalBytes: 0
    }
    const splitter = new LineSplitter()
    // Whether a complete line stays in the file.
    const stays = (bytes: Uint8Array): boolean => {
      if (bytes.every((b) => b === 32 || b === 9 || b === 13)) return true
      const info = lineInfo(bytes)
      if (info === undefined) {
        state.unreadable++
        return true
      }
      if (info.unreadableInput) {
        state.inputFailures++
        return false
      }
      if (info.status === "failure" && retryFailed) {
        state.retried++
        return false
      }
      if (state.done.add(info.id)) {
        if (info.status === "success") state.succeeded++
        else state.failed++
      }
      return true
    }
    yield* fs.stream(path, { chunkSize: FileSystem.KiB(64) }).pipe(
      Stream.mapError((error) => new CheckpointError({ path, reason: reasonOf(error) })),
      Stream.runForEach((chunk) =>
        Effect.suspend(() => {
          const lines = splitter.push(chunk)
          state.totalBytes += chunk.length
          state.goodBytes = state.totalBytes - splitter.pendingBytes
          const kept = lines.filter(stays)
          if (keep === undefined || kept.length === 0) return Effect.void
          const out = new Uint8Array(kept.reduce((n, l) => n + l.length + 1, 0))
          let at = 0
          for (const line of kept) {
            out.set(line, at)
            out[at + line.length] = 10
            at += line.length + 1
          }
          return keep(out)
        })
      )
    )
    return state
  })

/**
 * The path the lock is taken on: the output's real path (so that two names of one file share
 * one lock), or, for a file not yet created, its directory's real path and its name.
 */
const canonical = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const absolute = paths.resolve(path)
    const real = yield* Effect.option(fs.realPath(absolute))
    if (real._tag === "Some") return real.value
    const dir = yield* Effect.option(fs.realPath(paths.dirname(absolute)))
    return dir._tag === "Some" ? paths.join(dir.value, paths.basename(absolute)) : absolute
  })

/**
 * Opens (or creates) an output file for appending, resuming what it already holds, and locks it
 * for the scope.
 *
 * @example
 * ```ts
 * import { Checkpoint } from "@effect-dspy/batch"
 * import { Effect } from "effect"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const checkpoint = yield* Checkpoint.open("results.jsonl")
 *   return checkpoint.resumed.items
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const open = (
  path: string,
  options: Options = {}
): Effect.Effect<Checkpoint, CheckpointError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const fail = (reason: string) => new CheckpointError({ path, reason })
    const retryFailed = options.retryFailed ?? false
    const exists = yield* fs.exists(path).pipe(Effect.mapError((e) => fail(reasonOf(e))))
    if (exists) {
      const info = yield* fs.stat(path).pipe(Effect.mapError((e) => fail(reasonOf(e))))
      if (info.type !== "File") return yield* fail(`it is a ${info.type.toLowerCase()}, not a file`)
    } else {
      const dir = pathService.dirname(pathService.resolve(path))
      const dirExists = yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false))
      if (!dirExists) return yield* fail(`directory ${dir} does not exist`)
    }
    // before the file is read: another run may be appending to it
    yield* OutputLock.acquire(`${yield* canonical(path)}.lock`, path).pipe(Effect.mapError((refusal) => fail(refusal.reason)))
    let found: Scan | undefined
    if (exists) {
      found = yield* scan(path, retryFailed, undefined)
      if (found.retried > 0 || found.inputFailures > 0) {
        // rewrite without the dropped lines (and without a torn tail), then swap it in atomically
        const temporary = `${path}.rewrite-${process.pid}`
        found = yield* Effect.scoped(Effect.gen(function*() {
          const out = yield* fs.open(temporary, { flag: "w" }).pipe(Effect.mapError((e) => fail(reasonOf(e))))
          return yield* scan(path, retryFailed, (lines) => out.writeAll(lines).pipe(Effect.mapError((e) => fail(reasonOf(e)))))
        })).pipe(Effect.tapError(() => Effect.ignore(fs.remove(temporary))))
        yield* fs.rename(temporary, path).pipe(Effect.mapError((e) => fail(reasonOf(e))))
      } else if (found.goodBytes < found.totalBytes) {
        // a torn last line: the write of the process that died; its item runs again
        yield* fs.truncate(path, FileSystem.Size(found.goodBytes)).pipe(Effect.mapError((e) => fail(reasonOf(e))))
      }
    }
    const file = yield* fs.open(path, { flag: "a" }).pipe(Effect.mapError((e) => fail(reasonOf(e))))
    const encoder = new TextEncoder()
    const done = found?.done ?? new DoneSet()
    let written = 0
    // the file's size as this run leaves it: after a failed write, what landed of it is the
    // file's size beyond this (one writer: the file is locked)
    let size = (yield* fs.stat(path).pipe(Effect.mapError((e) => fail(reasonOf(e))))).size
    const appendLines = (records: Iterable<Outcome.Record>): Effect.Effect<void, WriteError> =>
      Effect.suspend(() => {
        const lines: Array<Uint8Array> = []
        let bytes = 0
        for (const record of records) {
          const line = encoder.encode(`${JSON.stringify(record)}\n`)
          lines.push(line)
          bytes += line.length
        }
        if (lines.length === 0) return Effect.void
        let buffer = lines[0]!
        if (lines.length > 1) {
          buffer = new Uint8Array(bytes)
          let offset = 0
          for (const line of lines) {
            buffer.set(line, offset)
            offset += line.length
          }
        }
        return file.writeAll(buffer).pipe(
          Effect.zipRight(Effect.sync(() => {
            written += lines.length
            size = FileSystem.Size(size + BigInt(bytes))
          })),
          Effect.catchAll((e) =>
            // a write that failed part-way (a full disk) may have landed some whole lines
            Effect.flatMap(Effect.option(fs.stat(path)), (info) =>
              Effect.suspend(() => {
                let landed = info._tag === "Some" ? Number(info.value.size - size) : 0
                for (const line of lines) {
                  if (landed < line.length) break
                  landed -= line.length
                  written++
                }
                return Effect.fail(new WriteError({ path, reason: reasonOf(e), diskFull: isDiskFull(e), linesWritten: written }))
              })
            )
          )
        )
      })
    return {
      path,
      isDone: (id) => done.has(id),
      resumed: {
        items: done.size,
        succeeded: found?.succeeded ?? 0,
        failed: found?.failed ?? 0,
        retried: found?.retried ?? 0,
        inputFailures: found?.inputFailures ?? 0,
        tornBytes: found === undefined ? 0 : found.totalBytes - found.goodBytes,
        unreadableLines: found?.unreadable ?? 0
      },
      append: (record) => appendLines([record]),
      appendAll: appendLines,
      linesWritten: Effect.sync(() => written)
    }
  })
