/**
 * `LmCache`: DSPy's LM cache for any `@effect/ai` `LanguageModel`. The same call twice is one
 * paid request: replies are kept by a stable key of the request (the model and every setting of
 * `LmConfig`, rollout id and `n` included; the messages; the response format; the tools and tool
 * choice), in memory (least recently used entries evicted past `capacity`) and, when asked for,
 * in a persistent `KeyValueStore` (a directory with `layerFileSystem`), so that a development
 * loop or an optimizer run started again costs nothing for the calls it already made.
 *
 * What the key never holds: API keys, headers, or any `Redacted` value (providers keep those out
 * of `LmConfig`; a `Redacted` setting is left out of the key). Concurrent identical calls make
 * one request: the others wait for it (in-flight de-duplication). Streamed calls are cached too
 * and replayed from the cache as a stream. A hit is marked on the reply (see `isCacheHit`) with
 * zero usage, as DSPy does: no tokens were paid for it.
 *
 * Not cached: calls whose tool calls `@effect/ai` resolves by running handlers (their results
 * are effects of your program; ReAct's native tool calling runs its tools itself and is
 * cached), and failures.
 *
 * @since 0.2.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as PlatformError from "@effect/platform/Error"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { hitMarker, isCacheHit as isHit } from "./internal/cacheMarker.js"
import { canonicalJson, sha256 } from "./internal/requestKey.js"
import { LmConfig } from "./LmConfig.js"

/**
 * How the cache has been used since it was made.
 *
 * @since 0.2.0
 */
export interface Stats {
  /** Calls answered from memory. */
  readonly memoryHits: number
  /** Calls answered from the persistent store. */
  readonly storeHits: number
  /** Calls that waited for an identical call in flight and took its reply. */
  readonly joined: number
  /** Calls made to the model. */
  readonly misses: number
  /** Calls that could not be cached (tool handlers run by `@effect/ai`) and went straight through. */
  readonly bypassed: number
  /** Entries in memory now. */
  readonly entries: number
  /** Distinct requests being made now. */
  readonly inFlight: number
  /** Calls waiting now for an identical request in flight. */
  readonly waiting: number
}

/**
 * Options of a cache.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Most replies kept in memory; the least recently used go first. Default 10,000. */
  readonly capacity?: number | undefined
  /**
   * A name mixed into every key, to keep apart calls that look alike to the cache: two models
   * that `LmConfig` does not name (a bare `LanguageModel` layer sets no model name).
   */
  readonly namespace?: string | undefined
  /**
   * More of the request to key on, read per call: what a provider sends that `LmConfig` does not
   * carry (extra body fields). Never put a secret or a header here.
   */
  readonly additionalKey?: Effect.Effect<unknown> | undefined
}

/**
 * A cache of LM calls.
 *
 * @since 0.2.0
 */
export interface Service {
  /** The model's calls through this cache. */
  readonly wrap: (model: LanguageModel.Service) => LanguageModel.Service
  readonly stats: Effect.Effect<Stats>
  /** Empties memory and the persistent store (every entry of the store, this cache's or not). */
  readonly clear: Effect.Effect<void, PlatformError.PlatformError>
}

/**
 * The cache in context, for its stats.
 *
 * @since 0.2.0
 */
export class LmCache extends Context.Tag("@effect-dspy/core/LmCache")<LmCache, Service>() {}

/**
 * What a request is keyed on, for `requestKey`.
 *
 * @since 0.2.0
 */
export interface Request {
  readonly method: Method
  readonly prompt: Prompt.RawInput
  readonly tools?: ReadonlyArray<Tool.Any> | undefined
  readonly toolChoice?: unknown
  readonly responseFormat?: { readonly objectName: string | undefined; readonly schema: Schema.Schema.All } | undefined
}

/**
 * The `LanguageModel` method a call went through (each is cached apart: a stream replays as a
 * stream).
 *
 * @since 0.2.0
 */
export type Method = "generateText" | "generateObject" | "streamText"

const keyVersion = 1

/**
 * The text a request's key is the SHA-256 of (`material`) and the key: the `LmConfig` in force
 * (model, provider, temperature, max tokens, seed, rollout id, `n`, …), the messages, the
 * response format's JSON schema, the tools' names, descriptions and parameter schemas, the tool
 * choice, the namespace and `additionalKey`. Useful to see why two calls did not share an entry.
 * Fails (with `undefined`) only for a request it cannot describe (a schema with no JSON schema).
 *
 * @since 0.2.0
 */
export const requestKey = (
  request: Request,
  options?: Pick<Options, "namespace" | "additionalKey">
): Effect.Effect<{ readonly material: string; readonly key: string }, undefined> =>
  Effect.gen(function*() {
    const settings = yield* LmConfig
    const extra = options?.additionalKey === undefined ? undefined : yield* options.additionalKey
    const described = Either.try({
      try: () => ({
        tools: (request.tools ?? []).map((tool) =>
          Tool.isProviderDefined(tool)
            ? { name: tool.name, providerDefined: tool.id, args: tool.args }
            : { name: tool.name, description: Tool.getDescription(tool as never), parameters: Tool.getJsonSchema(tool as never) }
        ),
        responseFormat: request.responseFormat === undefined ? undefined : {
          objectName: request.responseFormat.objectName,
          schema: JSONSchema.make(request.responseFormat.schema as Schema.Schema<unknown, unknown>)
        }
      }),
      catch: () => undefined
    })
    if (Either.isLeft(described)) return yield* Effect.fail(undefined)
    const material = canonicalJson({
      version: keyVersion,
      namespace: options?.namespace,
      method: request.method,
      settings,
      messages: Prompt.make(request.prompt).content,
      ...described.right,
      toolChoice: request.toolChoice,
      extra
    })
    return { material, key: `lm-${yield* sha256(material)}` }
  })

/**
 * Whether a reply (its parts) came from a cache.
 *
 * @since 0.2.0
 */
export const isCacheHit: (parts: ReadonlyArray<{ readonly type: string; readonly metadata?: unknown }>) => boolean =
  isHit

const StoredEntry = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(keyVersion),
  method: Schema.Literal("generateText", "generateObject", "streamText"),
  parts: Schema.Array(Schema.Unknown)
}))
const decodeStored = Schema.decodeUnknownOption(StoredEntry)
const encodeStored = Schema.encodeSync(StoredEntry)

/** Encoded (JSON-safe) parts of one reply. */
type Parts = ReadonlyArray<unknown>

// A waiter's view of the call it joined: its parts, its error, or gone (the caller that made it
// was interrupted, so a waiter makes the call itself).
type Outcome =
  | { readonly _tag: "Done"; readonly parts: Parts }
  | { readonly _tag: "Failed"; readonly error: unknown }
  | { readonly _tag: "Abandoned" }

/** A persistent store of entries; `none` when the cache lives in memory only. */
interface Persisted {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>>
  readonly set: (key: string, value: string) => Effect.Effect<void>
  readonly clear: Effect.Effect<void, PlatformError.PlatformError>
}

const noStore: Persisted = {
  get: () => Effect.succeedNone,
  set: () => Effect.void,
  clear: Effect.void
}

// A store that fails is a cache that misses: the call goes on, with a warning.
const fromKeyValueStore = (store: KeyValueStore.KeyValueStore): Persisted => ({
  get: (key) =>
    store.get(key).pipe(
      Effect.catchAll((error) => Effect.as(Effect.logWarning(`LmCache: cannot read ${key}: ${error.message}`), Option.none()))
    ),
  set: (key, value) =>
    store.set(key, value).pipe(
      Effect.catchAll((error) => Effect.logWarning(`LmCache: cannot write ${key}: ${error.message}`))
    ),
  clear: store.clear
})

/** Sets the finish part of encoded parts to zero usage and marks it as a cache hit. */
const markHit = (parts: Parts): Array<unknown> =>
  parts.map((part) => {
    if (typeof part !== "object" || part === null || (part as { type?: unknown }).type !== "finish") return part
    const finish = part as { readonly metadata?: Record<string, unknown> }
    return {
      ...finish,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      metadata: { ...finish.metadata, ...hitMarker }
    }
  })

type Tools = Record<string, Tool.Any>
type AnyToolkit = Toolkit.Any | Toolkit.WithHandler<Tools>

const partsSchema = (toolkit: AnyToolkit) => Schema.Array(Response.Part(toolkit))
const streamPartsSchema = (toolkit: AnyToolkit) => Schema.Array(Response.StreamPart(toolkit))

/** A call's options as the cache reads them (the fields of `GenerateTextOptions` it uses). */
interface CallOptions {
  readonly prompt: Prompt.RawInput
  readonly toolkit?: unknown
  readonly toolChoice?: unknown
  readonly disableToolCallResolution?: boolean | undefined
  readonly objectName?: string | undefined
  readonly schema?: Schema.Schema.All | undefined
}

const isWithHandler = (u: unknown): u is Toolkit.WithHandler<Tools> =>
  typeof u === "object" && u !== null && "tools" in u && "handle" in u

const makeWith = (persisted: Persisted, options: Options | undefined): Service => {
  const capacity = Math.max(1, options?.capacity ?? 10_000)
  // Insertion order is recency order: a hit moves its entry to the end.
  const memory = new Map<string, Parts>()
  const inFlight = new Map<string, Deferred.Deferred<Outcome>>()
  const counts = { memoryHits: 0, storeHits: 0, joined: 0, misses: 0, bypassed: 0 }
  let waiting = 0

  const remember = (key: string, parts: Parts): void => {
    memory.delete(key)
    memory.set(key, parts)
    while (memory.size > capacity) {
      const oldest = memory.keys().next()
      if (oldest.done === true) break
      memory.delete(oldest.value)
    }
  }

  const recall = (key: string): Parts | undefined => {
    const parts = memory.get(key)
    if (parts !== undefined) remember(key, parts)
    return parts
  }

  const save = (key: string, method: Method, parts: Parts): Effect.Effect<void> =>
    Effect.suspend(() => {
      remember(key, parts)
      return persisted.set(key, encodeStored({ version: keyVersion, method, parts }))
    })

  const fromStore = (key: string, method: Method): Effect.Effect<Parts | undefined> =>
    Effect.map(persisted.get(key), (stored) => {
      if (Option.isNone(stored)) return undefined
      const entry = decodeStored(stored.value)
      return Option.isSome(entry) && entry.value.method === method ? entry.value.parts : undefined
    })

  /**
   * Answers a call from memory, a call in flight, the store, or by running it. `decode` reads a
   * hit (undefined when the entry no longer decodes: then it is a miss), `encode` the reply to
   * keep (undefined when it cannot be kept).
   */
  const through = <A, E, R>(
    key: string,
    method: Method,
    run: Effect.Effect<A, E, R>,
    decode: (parts: Parts) => Effect.Effect<A | undefined, E, R>,
    encode: (value: A) => Effect.Effect<Parts | undefined>
  ): Effect.Effect<A, E, R> => {
    // An entry that no longer decodes (written by another version) is dropped: a miss.
    const orRun = (parts: Parts, count: () => void): Effect.Effect<A, E, R> =>
      Effect.flatMap(decode(markHit(parts)), (value) => {
        if (value === undefined) {
          if (memory.get(key) === parts) memory.delete(key)
          return lead
        }
        count()
        return Effect.succeed(value)
      })
    // The deferred is made first, so that the checks below and registering it happen in one
    // step, with no yield between them: a call starting later joins this one.
    const lead: Effect.Effect<A, E, R> = Effect.flatMap(Deferred.make<Outcome>(), (deferred) => {
      const inMemory = recall(key)
      if (inMemory !== undefined) return orRun(inMemory, () => counts.memoryHits++)
      const pending = inFlight.get(key)
      if (pending !== undefined) {
        const wait = Effect.suspend(() => {
          waiting++
          return Effect.ensuring(Deferred.await(pending), Effect.sync(() => waiting--))
        })
        return Effect.flatMap(wait, (outcome): Effect.Effect<A, E, R> => {
          switch (outcome._tag) {
            case "Done":
              return orRun(outcome.parts, () => counts.joined++)
            // Identical calls share the failure of the one that was made (the error is of
            // this method's error type: the calls are the same call).
            case "Failed":
              return Effect.fail(outcome.error as E)
            case "Abandoned":
              return lead
          }
        })
      }
      inFlight.set(key, deferred)
      const settle = (outcome: Outcome) =>
        Effect.suspend(() => {
          if (inFlight.get(key) === deferred) inFlight.delete(key)
          return Deferred.succeed(deferred, outcome)
        })
      const made = Effect.gen(function*() {
        const stored = yield* fromStore(key, method)
        if (stored !== undefined) {
          const value = yield* decode(markHit(stored))
          if (value !== undefined) {
            counts.storeHits++
            remember(key, stored)
            yield* settle({ _tag: "Done", parts: stored })
            return value
          }
        }
        counts.misses++
        const value = yield* run
        const parts = yield* encode(value)
        if (parts !== undefined) yield* save(key, method, parts)
        yield* settle(parts === undefined ? { _tag: "Abandoned" } : { _tag: "Done", parts })
        return value
      })
      return made.pipe(
        Effect.onExit((exit) => {
          if (exit._tag === "Success") return Effect.void
          const failure = Cause.failureOption(exit.cause)
          return settle(Option.isSome(failure) ? { _tag: "Failed", error: failure.value } : { _tag: "Abandoned" })
        })
      )
    })
    return lead
  }

  const keyOf = (request: Request) => Effect.option(requestKey(request, options))

  const encodeParts = (toolkit: AnyToolkit) => {
    const encode = Schema.encodeUnknown(partsSchema(toolkit))
    return (content: ReadonlyArray<unknown>): Effect.Effect<Parts | undefined> =>
      Effect.orElseSucceed(encode(content), () => undefined)
  }
  const decodeParts = (toolkit: AnyToolkit) => {
    const decode = Schema.decodeUnknown(partsSchema(toolkit))
    return (parts: Parts): Effect.Effect<Array<Response.Part<Tools>> | undefined> =>
      Effect.orElseSucceed(Effect.map(decode(parts), (content) => [...content]), () => undefined)
  }

  // The toolkit of a call, resolved (it may be given as an Effect), and whether the call may be
  // cached: not when `@effect/ai` would run tool handlers.
  const prepare = <E, R>(options: CallOptions): Effect.Effect<
    { readonly options: CallOptions; readonly toolkit: AnyToolkit; readonly cacheable: boolean },
    E,
    R
  > =>
    Effect.map(
      options.toolkit === undefined
        ? Effect.succeed(undefined)
        : isWithHandler(options.toolkit)
        ? Effect.succeed(options.toolkit)
        // A toolkit given as an Effect (a `Toolkit` is one) resolves to its handlers.
        : (options.toolkit as Effect.Effect<Toolkit.WithHandler<Tools>, E, R>),
      (toolkit) => {
        if (toolkit === undefined) return { options, toolkit: Toolkit.empty, cacheable: true }
        const hasTools = Object.keys(toolkit.tools).length > 0
        return {
          options: { ...options, toolkit },
          toolkit,
          cacheable: !hasTools || options.disableToolCallResolution === true
        }
      }
    )

  const requestOf = (method: Method, options: CallOptions, toolkit: AnyToolkit): Request => ({
    method,
    prompt: options.prompt,
    tools: Object.values(toolkit.tools as Record<string, Tool.Any>),
    toolChoice: options.toolChoice,
    responseFormat: options.schema === undefined ? undefined : { objectName: options.objectName, schema: options.schema }
  })

  const wrap = (model: LanguageModel.Service): LanguageModel.Service => {
    const generateText = (raw: CallOptions) =>
      Effect.gen(function*() {
        const { cacheable, options, toolkit } = yield* prepare(raw)
        const call = model.generateText(options as never) as Effect.Effect<LanguageModel.GenerateTextResponse<Tools>, unknown, unknown>
        const key = cacheable ? yield* keyOf(requestOf("generateText", options, toolkit)) : Option.none()
        if (Option.isNone(key)) {
          counts.bypassed++
          return yield* call
        }
        const decode = decodeParts(toolkit)
        const encode = encodeParts(toolkit)
        return yield* through(
          key.value.key,
          "generateText",
          call,
          (parts) => Effect.map(decode(parts), (content) => content && new LanguageModel.GenerateTextResponse(content)),
          (response) => encode(response.content)
        )
      })

    const generateObject = (raw: CallOptions) =>
      Effect.gen(function*() {
        const { cacheable, options, toolkit } = yield* prepare(raw)
        const call = model.generateObject(options as never) as Effect.Effect<
          LanguageModel.GenerateObjectResponse<Tools, unknown>,
          unknown,
          unknown
        >
        const key = cacheable ? yield* keyOf(requestOf("generateObject", options, toolkit)) : Option.none()
        if (Option.isNone(key) || options.schema === undefined) {
          counts.bypassed++
          return yield* call
        }
        const decode = decodeParts(toolkit)
        const encode = encodeParts(toolkit)
        // The object is read again from the kept text, as `generateObject` reads it.
        const readObject = Schema.decodeUnknown(Schema.parseJson(options.schema as Schema.Schema<unknown, unknown, unknown>))
        return yield* through(
          key.value.key,
          "generateObject",
          call,
          (parts) =>
            Effect.flatMap(decode(parts), (content) => {
              if (content === undefined) return Effect.succeed(undefined)
              const text = content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")
              return readObject(text).pipe(
                Effect.map((value) => new LanguageModel.GenerateObjectResponse(value, content)),
                Effect.orElseSucceed(() => undefined)
              )
            }),
          (response) => encode(response.content)
        )
      })

    const streamText = (raw: CallOptions) =>
      Stream.unwrap(Effect.gen(function*() {
        const { cacheable, options, toolkit } = yield* prepare(raw)
        const call = model.streamText(options as never) as Stream.Stream<Response.AnyPart, unknown, unknown>
        const key = cacheable ? yield* keyOf(requestOf("streamText", options, toolkit)) : Option.none()
        if (Option.isNone(key)) {
          counts.bypassed++
          return call
        }
        const schema = streamPartsSchema(toolkit)
        const decode = Schema.decodeUnknownOption(schema)
        const encode = Schema.encodeUnknownOption(schema)
        const replay = (parts: Parts) => Option.map(decode(markHit(parts)), (content) => Stream.fromIterable(content))
        const inMemory = recall(key.value.key)
        const fromMemory = inMemory === undefined ? Option.none() : replay(inMemory)
        if (Option.isSome(fromMemory)) {
          counts.memoryHits++
          return fromMemory.value
        }
        const stored = yield* fromStore(key.value.key, "streamText")
        const fromStored = stored === undefined ? Option.none() : replay(stored)
        if (stored !== undefined && Option.isSome(fromStored)) {
          counts.storeHits++
          remember(key.value.key, stored)
          return fromStored.value
        }
        counts.misses++
        // Kept once the stream has ended well; a stream that fails or is cut short is not.
        const seen: Array<unknown> = []
        return call.pipe(
          Stream.mapChunks((chunk) => {
            for (const part of chunk) seen.push(part)
            return chunk
          }),
          Stream.concat(Stream.execute(Effect.suspend(() => {
            const parts = encode(seen)
            return Option.isSome(parts) ? save(key.value.key, "streamText", parts.value) : Effect.void
          })))
        )
      }))

    // The service's methods are generic over the caller's options and tools; the cache reads the
    // options as data and returns what the model (or the decoded kept reply) returns.
    return { generateText, generateObject, streamText } as unknown as LanguageModel.Service
  }

  return {
    wrap,
    stats: Effect.sync(() => ({ ...counts, entries: memory.size, inFlight: inFlight.size, waiting })),
    clear: Effect.suspend(() => {
      memory.clear()
      return persisted.clear
    })
  }
}

/**
 * A cache in memory only.
 *
 * @since 0.2.0
 */
export const make = (options?: Options): Effect.Effect<Service> => Effect.sync(() => makeWith(noStore, options))

/**
 * A cache in memory in front of the `KeyValueStore` in context.
 *
 * @since 0.2.0
 */
export const makeWithStore = (options?: Options): Effect.Effect<Service, never, KeyValueStore.KeyValueStore> =>
  Effect.map(KeyValueStore.KeyValueStore, (store) => makeWith(fromKeyValueStore(store), options))

const around = <E, R>(
  makeCache: Effect.Effect<Service, E, R>
): Layer.Layer<LanguageModel.LanguageModel | LmCache, E, LanguageModel.LanguageModel | R> =>
  Layer.effectContext(Effect.gen(function*() {
    const cache = yield* makeCache
    const model = yield* LanguageModel.LanguageModel
    return Context.make(LmCache, cache).pipe(Context.add(LanguageModel.LanguageModel, cache.wrap(model)))
  }))

/**
 * Runs an effect with the `LanguageModel` in context behind a fresh in-memory cache, for as long
 * as the effect runs, unless a cache is already in force (an `LmCache` in context, as
 * `LmCache.layer` and `Lm.layer`'s `cache` option provide) or no model is in context. What the
 * optimizers do by default, as DSPy caches every call: a prompt asked twice in one run (the same
 * teacher run for two candidates, a program evaluated twice) is paid for once.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { LmCache, Predict, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * // the second call is a hit of the cache that lives for this effect
 * const twice = Effect.zipRight(qa({ question: "Why?" }), qa({ question: "Why?" })).pipe(LmCache.ensure())
 * ```
 */
export const ensure = (options?: Options) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    if (Option.isSome(yield* Effect.serviceOption(LmCache))) return yield* self
    const model = yield* Effect.serviceOption(LanguageModel.LanguageModel)
    if (Option.isNone(model)) return yield* self
    const cache = yield* make(options)
    return yield* self.pipe(
      Effect.provideService(LanguageModel.LanguageModel, cache.wrap(model.value)),
      Effect.provideService(LmCache, cache)
    )
  })

/**
 * The `LanguageModel` in context behind an in-memory cache (and the cache, for its stats).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { LmCache, Predict, Signature } from "@effect-dspy/core"
 * import { Simulator } from "@effect-dspy/simulator"
 * import { Effect, Layer } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const twice = Effect.zipRight(qa({ question: "Why?" }), qa({ question: "Why?" })) // one request
 * const model = LmCache.layer().pipe(Layer.provide(Simulator.layer()))
 * Effect.runPromise(twice.pipe(Effect.provide(model)))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<LanguageModel.LanguageModel | LmCache, never, LanguageModel.LanguageModel> =>
  around(make(options))

/**
 * The `LanguageModel` in context behind a cache kept in the `KeyValueStore` in context (and in
 * memory in front of it).
 *
 * @since 0.2.0
 */
export const layerStore = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel | LmCache, never, LanguageModel.LanguageModel | KeyValueStore.KeyValueStore> =>
  around(makeWithStore(options))

/**
 * The `LanguageModel` in context behind a cache kept in a directory (one file per reply), so
 * that it outlives the process and is shared by the processes that use the same directory. Needs
 * a `FileSystem` and a `Path` (`NodeContext.layer` from `@effect/platform-node`). A file read
 * while another process writes it reads as a miss.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { LmCache } from "@effect-dspy/core"
 * import { NodeContext } from "@effect/platform-node"
 * import { Simulator } from "@effect-dspy/simulator"
 * import { Layer } from "effect"
 *
 * const model = LmCache.layerFileSystem(".cache/lm").pipe(
 *   Layer.provide([Simulator.layer(), NodeContext.layer])
 * )
 * ```
 */
export const layerFileSystem = (
  directory: string,
  options?: Options
): Layer.Layer<
  LanguageModel.LanguageModel | LmCache,
  PlatformError.PlatformError,
  LanguageModel.LanguageModel | FileSystem.FileSystem | Path.Path
> => layerStore(options).pipe(Layer.provide(KeyValueStore.layerFileSystem(directory)))
