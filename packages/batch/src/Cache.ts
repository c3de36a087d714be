/**
 * Result caches keyed by what determines a module's answer: the model (a namespace), the
 * module's learnable state (`ProgramState.save`) and signatures, and the input.
 *
 * Within one run the batch runner de-duplicates identical inputs in memory (see `Batch`); a
 * `Store` given to it keeps results across runs. `file` is a JSONL store: loaded into memory
 * when opened, appended one line (one write, `O_APPEND`) per new result, tolerant of a torn
 * last line; several processes may append to it at once.
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
import { canonicalJson, sha256 } from "./internal/hash"

/** A cached result: the output in encoded (JSON) form and the usage of the call that made it. */
export interface Entry {
  readonly output: unknown
  readonly usage: {
    readonly inputTokens: number
    readonly outputTokens: number
    readonly totalTokens: number
    readonly lmCalls: number
  }
}

/** A persistent result store. */
export interface Store {
  readonly get: (key: string) => Effect.Effect<Entry | undefined>
  readonly set: (key: string, entry: Entry) => Effect.Effect<void, CacheError>
  readonly size: Effect.Effect<number>
}

/** The cache file cannot be read or written. */
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

/** The cache key of one input (in encoded, JSON-safe form) under a prefix. */
export const key = (prefix: string, encodedInput: unknown): string => sha256(`${prefix}\n${canonicalJson(encodedInput)}`)

/** A store in memory (for tests, or to share results between runs in one process). */
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

/**
 * A JSONL store at `path` (created if missing). Its entries are held in memory while open.
 *
 * @example
 * ```ts
 * import { Batch, Cache } from "@effect-dspy/batch"
 * import { Effect } from "effect"
 * // const summary = Effect.flatMap(Cache.file("cache.jsonl"), (cache) => Batch.runFile(module, { input, output, cache }))
 * ```
 */
export const file = (path: string): Effect.Effect<Store, CacheError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (error: unknown) => new CacheError({ path, reason: reasonOf(error) })
    const entries = new Map<string, Entry>()
    let endsWithNewline = true
    if (yield* fs.exists(path).pipe(Effect.mapError(fail))) {
      yield* fs.stream(path, { chunkSize: FileSystem.KiB(64) }).pipe(
        Stream.tap((chunk) =>
          Effect.sync(() => {
            if (chunk.length > 0) endsWithNewline = chunk[chunk.length - 1] === 10
          })
        ),
        Stream.decodeText(),
        Stream.splitLines,
        Stream.runForEach((line) =>
          Effect.sync(() => {
            try {
              const value: unknown = JSON.parse(line)
              if (isEntryLine(value)) entries.set(value.key, { output: value.output, usage: value.usage })
            } catch {
              // a torn or foreign line: ignored
            }
          })
        ),
        Effect.mapError(fail)
      )
    }
    const handle = yield* fs.open(path, { flag: "a" }).pipe(Effect.mapError(fail))
    const encoder = new TextEncoder()
    // a torn last line (a writer died mid-line) must not swallow our first line
    if (!endsWithNewline) yield* handle.writeAll(encoder.encode("\n")).pipe(Effect.mapError(fail))
    return {
      get: (k) => Effect.sync(() => entries.get(k)),
      set: (k, entry) =>
        Effect.suspend(() => {
          entries.set(k, entry)
          return handle.writeAll(encoder.encode(`${JSON.stringify({ key: k, ...entry })}\n`))
        }).pipe(Effect.mapError(fail)),
      size: Effect.sync(() => entries.size)
    }
  })
