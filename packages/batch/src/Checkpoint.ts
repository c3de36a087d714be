/**
 * The output file of a batch, which is also its checkpoint: one JSON line per finished item,
 * appended as soon as the item finishes with a single `write` on a file opened `O_APPEND`, so
 * that a crash (even SIGKILL) leaves whole lines plus at most one torn last line.
 *
 * Opening an existing file resumes it: the torn last line (no trailing newline) is cut off, and
 * the ids of the finished items are remembered so that the run skips them. Ids that are line
 * numbers are kept in a bitmap, so resuming a million-line run stays cheap.
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
import type * as Outcome from "./Outcome.js"

/**
 * The output file cannot be read or written.
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
  readonly append: (record: Outcome.Record) => Effect.Effect<void, CheckpointError>
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

const NEWLINE = 10

interface Scan {
  readonly done: DoneSet
  succeeded: number
  failed: number
  retried: number
  unreadable: number
  /** Bytes up to and including the last newline. */
  goodBytes: number
  totalBytes: number
}

const lineInfo = (text: string): { readonly id: string; readonly status: string } | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (Predicate.hasProperty(value, "id") && typeof value.id === "string" && Predicate.hasProperty(value, "status")) {
      return { id: value.id, status: String(value.status) }
    }
  } catch {
    // not JSON
  }
  return undefined
}

/**
 * Reads an existing output file line by line (lazily, flat memory), calling `keep` on every
 * complete line that should stay in the file.
 */
const scan = (
  path: string,
  retryFailed: boolean,
  keep: ((line: Uint8Array) => Effect.Effect<void, CheckpointError>) | undefined
): Effect.Effect<Scan, CheckpointError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const decoder = new TextDecoder()
    const state: Scan = {
      done: new DoneSet(),
      succeeded: 0,
      failed: 0,
      retried: 0,
      unreadable: 0,
      goodBytes: 0,
      totalBytes: 0
    }
    let partial: Array<Uint8Array> = []
    const onLine = (bytes: Uint8Array): Effect.Effect<void, CheckpointError> => {
      const text = decoder.decode(bytes)
      if (text.trim() === "") return Effect.void
      const info = lineInfo(text)
      if (info === undefined) {
        state.unreadable++
        return keep === undefined ? Effect.void : keep(bytes)
      }
      if (info.status === "failure" && retryFailed) {
        state.retried++
        return Effect.void
      }
      if (state.done.add(info.id)) {
        if (info.status === "success") state.succeeded++
        else state.failed++
      }
      return keep === undefined ? Effect.void : keep(bytes)
    }
    yield* fs.stream(path, { chunkSize: FileSystem.KiB(64) }).pipe(
      Stream.mapError((error) => new CheckpointError({ path, reason: reasonOf(error) })),
      Stream.runForEach((chunk) =>
        Effect.suspend(() => {
          const lines: Array<Uint8Array> = []
          let start = 0
          for (let i = 0; i < chunk.length; i++) {
            if (chunk[i] !== NEWLINE) continue
            const piece = chunk.subarray(start, i + 1)
            if (partial.length === 0) lines.push(piece)
            else {
              partial.push(piece)
              const size = partial.reduce((n, p) => n + p.length, 0)
              const joined = new Uint8Array(size)
              let offset = 0
              for (const p of partial) {
                joined.set(p, offset)
                offset += p.length
              }
              lines.push(joined)
              partial = []
            }
            start = i + 1
          }
          if (start < chunk.length) partial.push(chunk.slice(start))
          state.totalBytes += chunk.length
          state.goodBytes = state.totalBytes - partial.reduce((n, p) => n + p.length, 0)
          return Effect.forEach(lines, onLine, { discard: true })
        })
      )
    )
    return state
  })

/**
 * Opens (or creates) an output file for appending, resuming what it already holds.
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
    let found: Scan | undefined
    if (exists) {
      const info = yield* fs.stat(path).pipe(Effect.mapError((e) => fail(reasonOf(e))))
      if (info.type !== "File") return yield* fail(`it is a ${info.type.toLowerCase()}, not a file`)
      if (retryFailed) {
        // rewrite without the failure lines (and without a torn tail), then swap it in atomically
        const temporary = `${path}.rewrite-${process.pid}`
        found = yield* Effect.scoped(Effect.gen(function*() {
          const out = yield* fs.open(temporary, { flag: "w" }).pipe(Effect.mapError((e) => fail(reasonOf(e))))
          return yield* scan(path, true, (line) => out.writeAll(line).pipe(Effect.mapError((e) => fail(reasonOf(e)))))
        }))
        if (found.retried > 0 || found.goodBytes < found.totalBytes) {
          yield* fs.rename(temporary, path).pipe(Effect.mapError((e) => fail(reasonOf(e))))
        } else yield* fs.remove(temporary).pipe(Effect.ignore)
      } else {
        found = yield* scan(path, false, undefined)
        if (found.goodBytes < found.totalBytes) {
          // a torn last line: the write of the process that died; its item runs again
          yield* fs.truncate(path, FileSystem.Size(found.goodBytes)).pipe(Effect.mapError((e) => fail(reasonOf(e))))
        }
      }
    } else {
      const dir = pathService.dirname(pathService.resolve(path))
      const dirExists = yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false))
      if (!dirExists) return yield* fail(`directory ${dir} does not exist`)
    }
    const file = yield* fs.open(path, { flag: "a" }).pipe(Effect.mapError((e) => fail(reasonOf(e))))
    const encoder = new TextEncoder()
    const done = found?.done ?? new DoneSet()
    return {
      path,
      isDone: (id) => done.has(id),
      resumed: {
        items: done.size,
        succeeded: found?.succeeded ?? 0,
        failed: found?.failed ?? 0,
        retried: found?.retried ?? 0,
        tornBytes: found === undefined ? 0 : found.totalBytes - found.goodBytes,
        unreadableLines: found?.unreadable ?? 0
      },
      append: (record) =>
        Effect.suspend(() => file.writeAll(encoder.encode(`${JSON.stringify(record)}\n`))).pipe(
          Effect.mapError((e) => fail(reasonOf(e)))
        )
    }
  })
