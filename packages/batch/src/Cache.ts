/**
 * Result caches keyed by what determines a module's answer: the model (a namespace), the
 * module's learnable state (`ProgramState.save`) and signatures, and the input.
 *
 * Within one run the batch runner de-duplicates identical inputs in memory (see `Batch`); a
 * `Store` given to it keeps results across runs. `file` is a JSONL store: indexed when opened
 * (keys and line positions in memory, outputs left on disk), appended one line (one write,
 * `O_APPEND`) per new result, tolerant of a torn last line; several processes may append to it
 * at once.
 *
 * @since 0.1.0
 */
import * as ProgramState from "@effect-dspy/core/ProgramState"
import type * as Module from "@effect-dspy/core/Module"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { canonicalJson, sha256 } from "./internal/hash.js"

/**
 * A cached result: the output in encoded (JSON) form and the usage of the call that made it.
 *
 * @since 0.1.0
 */
export interface Entry {
  readonly output: unknown
  readonly usage: {
    readonly inputTokens: number
    readonly outputTokens: number
    readonly totalTokens: number
    readonly lmCalls: number
  }
}

/**
 * A persistent result store.
 *
 * @since 0.1.0
 */
export interface Store {
  readonly get: (key: string) => Effect.Effect<Entry | undefined>
  readonly set: (key: string, entry: Entry) => Effect.Effect<void, CacheError>
  readonly size: Effect.Effect<number>
}

/**
 * The cache file cannot be read or written.
 *
 * @since 0.1.0
 */
export class CacheError extends Schema.TaggedError<CacheError>("@effect-dspy/batch/CacheError")("CacheError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot use cache file ${this.path}: ${this.reason}`
  }
}

/**
 * The part of a cache key that is the same for every item of a run: the namespace (e.g. the
 * model id and settings), the module's name and kind, and every predictor's signature fields,
 * instructions and demos.
 *
 * @since 0.1.0
 */
export const keyPrefix = (
  module: Pick<Module.Any, "name" | "kind" | "predictors">,
  namespace: string = ""
): string =>
  sha256(canonicalJson({
    namespace,
    name: module.name,
    kind: module.kind,
    state: ProgramState.save(module),
    fields: module.predictors.map((p) => ({
      path: p.path,
      input: p.signature.inputFields.map((f) => [f.name, f.typeLabel, f.description ?? ""]),
      output: p.signature.outputFields.map((f) => [f.name, f.typeLabel, f.description ?? ""])
    }))
  }))

/**
 * The cache key of one input (in encoded, JSON-safe form) under a prefix.
 *
 * @since 0.1.0
 */
export const key = (prefix: string, encodedInput: unknown): string => sha256(`${prefix}\n${canonicalJson(encodedInput)}`)

/**
 * A store in memory (for tests, or to share results between runs in one process).
 *
 * @since 0.1.0
 */
export const memory: Effect.Effect<Store> = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  return {
    get: (k) => Effect.sync(() => entries.get(k)),
    set: (k, entry) => Effect.sync(() => void entries.set(k, entry)),
    size: Effect.sync(() => entries.size)
  }
})

const isEntryLine = (u: unknown): u is { readonly key: string } & Entry =>
  Predicate.hasProperty(u, "key") && typeof u.key === "string" && Predicate.hasProperty(u, "output") &&
  Predicate.hasProperty(u, "usage") && Predicate.hasProperty(u.usage, "totalTokens")

const reasonOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/** Where an entry's line is in the file: its byte offset and length (without the newline). */
interface Position {
  readonly offset: number
  readonly length: number
}

const joinBytes = (pieces: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (pieces.length === 1) return pieces[0]!
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * A JSONL store at `path` (created if missing).
 *
 * Memory: only an index is held, each key with its line's position (about 160 bytes per
 * entry, whatever the size of the outputs); a hit reads its line from the file (one positioned
 * read). The file is scanned once when opened. Lines appended by this store are indexed as they
 * are written; each line read is checked against its key, so that if another process appended
 * in between (and a position is off) the lookup is a miss, never a wrong answer, and the next
 * open indexes the file exactly.
 *
 * @example
 * ```ts
 * import { Batch, Cache } from "@effect-dspy/batch"
 * import { Effect } from "effect"
 * // const summary = Effect.flatMap(Cache.file("cache.jsonl"), (cache) => Batch.runFile(module, { input, output, cache }))
 * ```
 *
 * @since 0.1.0
 */
export const file = (path: string): Effect.Effect<Store, CacheError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (error: unknown) => new CacheError({ path, reason: reasonOf(error) })
    const index = new Map<string, Position>()
    const decoder = new TextDecoder()
    const parse = (bytes: Uint8Array): ({ readonly key: string } & Entry) | undefined => {
      try {
        const value: unknown = JSON.parse(decoder.decode(bytes))
        return isEntryLine(value) ? value : undefined
      } catch {
        return undefined // a torn or foreign line: ignored
      }
    }
    // bytes of the file indexed so far (where our next line will start)
    let end = 0
    let torn = false
    if (yield* fs.exists(path).pipe(Effect.mapError(fail))) {
      let pieces: Array<Uint8Array> = []
      let lineStart = 0
      yield* fs.stream(path, { chunkSize: FileSystem.KiB(64) }).pipe(
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            let from = 0
            for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
              pieces.push(chunk.subarray(from, nl))
              const line = joinBytes(pieces)
              const entry = parse(line)
              if (entry !== undefined) index.set(entry.key, { offset: lineStart, length: line.length })
              pieces = []
              lineStart = end + nl + 1
              from = nl + 1
            }
            if (from < chunk.length) pieces.push(chunk.subarray(from))
            end += chunk.length
          })
        ),
        Effect.mapError(fail)
      )
      torn = pieces.length > 0
    }
    const reader = yield* fs.open(path, { flag: "a+" }).pipe(Effect.mapError(fail))
    const handle = yield* fs.open(path, { flag: "a" }).pipe(Effect.mapError(fail))
    // one positioned read at a time on the shared reader; appends in order, so that the
    // positions recorded for them are right
    const readLock = yield* Effect.makeSemaphore(1)
    const writeLock = yield* Effect.makeSemaphore(1)
    const encoder = new TextEncoder()
    // a torn last line (a writer died mid-line) must not swallow our first line
    if (torn) {
      yield* handle.writeAll(encoder.encode("\n")).pipe(Effect.mapError(fail))
      end += 1
    }
    const get = (k: string): Effect.Effect<Entry | undefined> =>
      Effect.suspend(() => {
        const at = index.get(k)
        if (at === undefined) return Effect.succeed(undefined)
        return readLock.withPermits(1)(Effect.zipRight(reader.seek(at.offset, "start"), reader.readAlloc(at.length))).pipe(
          Effect.map((bytes) => {
            const entry = bytes._tag === "Some" ? parse(bytes.value) : undefined
            if (entry === undefined || entry.key !== k) {
              index.delete(k)
              return undefined
            }
            return { output: entry.output, usage: entry.usage }
          }),
          Effect.catchAll((error) => Effect.as(Effect.logWarning(fail(error).message), undefined))
        )
      })
    return {
      get,
      set: (k, entry) =>
        writeLock.withPermits(1)(Effect.suspend(() => {
          const line = encoder.encode(`${JSON.stringify({ key: k, ...entry })}\n`)
          const offset = end
          return Effect.map(handle.writeAll(line), () => {
            end += line.length
            index.set(k, { offset, length: line.length - 1 })
          })
        })).pipe(Effect.mapError(fail)),
      size: Effect.sync(() => index.size)
    }
  })
