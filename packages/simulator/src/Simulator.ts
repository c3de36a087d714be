/**
 * The in-process simulated model: an `@effect/ai` `LanguageModel` that
 * answers from the simulator's engine, with its latency and faults, all
 * timed through Effect's `Clock` (so `TestClock` drives it).
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { Simulator } from "@effect-dspy/simulator"
 * import { Effect } from "effect"
 *
 * const program = LanguageModel.generateText({ prompt: "Say hi" }).pipe(
 *   Effect.provide(Simulator.layer({ seed: 1 }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { CurrentSpanTransformer } from "@effect/ai/Telemetry"
import * as Tool from "@effect/ai/Tool"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Script from "./Script.js"
import * as SimulatorConfig from "./SimulatorConfig.js"
import * as Answer from "./internal/answer.js"
import * as ResponseParts from "@effect-dspy/core/ResponseParts"
import * as FastParts from "./internal/fastParts.js"
import { type Counters, Engine, type Ticket } from "./internal/engine.js"

export type {
  /**
   * What a simulator instance has counted: requests, requests in flight, faults injected, answers completed.
   *
   * @since 0.1.0
   */
  Counters
} from "./internal/engine.js"

/**
 * Options of the in-process simulator (same as `SimulatorConfig.SimulatorOptions`).
 *
 * @since 0.1.0
 */
export type Options = SimulatorConfig.SimulatorOptions

/**
 * An in-process simulator: its `LanguageModel` and its counters.
 *
 * @since 0.1.0
 */
export interface Instance {
  readonly languageModel: LanguageModel.Service
  readonly counters: Effect.Effect<Counters>
  readonly reset: Effect.Effect<void>
}

const MODULE = "Simulator"

const requestDetails = (method: string) => ({
  method: "POST" as const,
  url: `sim://in-process/${method}`,
  urlParams: [],
  hash: Option.none(),
  headers: {}
})

const responseError = (method: string, status: number, headers: Record<string, string>, description: string) =>
  new AiError.HttpResponseError({
    module: MODULE,
    method,
    reason: "StatusCode",
    request: requestDetails(method),
    response: { status, headers },
    description
  })

const toMessages = (prompt: Prompt.Prompt): Array<Script.Message> => {
  const out: Array<Script.Message> = []
  for (const m of prompt.content) {
    switch (m.role) {
      case "system":
        out.push({ role: "system", text: m.content })
        break
      case "user": {
        let text = ""
        for (const p of m.content) text += p.type === "text" ? p.text : `[file ${p.mediaType}]`
        out.push({ role: "user", text })
        break
      }
      case "assistant": {
        let text = ""
        for (const p of m.content) {
          if (p.type === "text") text += p.text
          else if (p.type === "tool-call") text += `[tool call ${p.name} ${JSON.stringify(p.params)}]`
          else if (p.type === "tool-result") text += `[tool result ${p.name} ${JSON.stringify(p.result)}]`
        }
        out.push({ role: "assistant", text })
        break
      }
      case "tool": {
        let text = ""
        for (const p of m.content) text += JSON.stringify(p.result) ?? ""
        out.push({ role: "tool", text })
        break
      }
    }
  }
  return out
}

const toToolChoice = (choice: LanguageModel.ToolChoice<string>): Script.ToolChoice => {
  if (choice === "auto") return { _tag: "Auto" }
  if (choice === "none") return { _tag: "None" }
  if (choice === "required") return { _tag: "Required", among: undefined }
  if ("tool" in choice) return { _tag: "Tool", name: choice.tool }
  return choice.mode === "required" ? { _tag: "Required", among: choice.oneOf } : { _tag: "Auto" }
}

/**
 * Makes an in-process simulator with its counters.
 *
 * @since 0.1.0
 */
export const makeInstance = (options?: SimulatorConfig.SimulatorOptions): Effect.Effect<Instance> =>
  Effect.gen(function*() {
    const engine = new Engine(SimulatorConfig.resolve(options))
    const model = engine.options.model
    const tools = new WeakMap<Tool.Any, Script.Tool>()
    const schemas = new WeakMap<Schema.Schema.Any, Script.JsonSchema>()

    const toolOf = (tool: Tool.Any): Script.Tool => {
      let t = tools.get(tool)
      if (t === undefined) {
        t = {
          name: tool.name,
          description: tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast),
          parameters: Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast) as unknown as Script.JsonSchema
        }
        tools.set(tool, t)
      }
      return t
    }

    const schemaOf = (schema: Schema.Schema.Any, method: string): Effect.Effect<Script.JsonSchema, AiError.AiError> => {
      const hit = schemas.get(schema)
      if (hit !== undefined) return Effect.succeed(hit)
      return Effect.try({
        try: () => {
          const json = JSONSchema.make(schema) as unknown as Script.JsonSchema
          schemas.set(schema, json)
          return json
        },
        catch: (cause) =>
          new AiError.MalformedInput({
            module: MODULE,
            method,
            description: "The response schema has no JSON schema representation",
            cause
          })
      })
    }

    const toRequest = (
      options: LanguageModel.ProviderOptions,
      method: string
    ): Effect.Effect<Answer.SimRequest, AiError.AiError> =>
      Effect.map(
        options.responseFormat.type === "json"
          ? schemaOf(options.responseFormat.schema, method)
          : Effect.succeed(undefined),
        (responseSchema) => ({
          route: "in-process",
          messages: toMessages(options.prompt),
          tools: options.tools.map(toolOf),
          toolChoice: toToolChoice(options.toolChoice),
          responseSchema,
          jsonObject: false,
          maxOutputTokens: undefined,
          seed: undefined
        })
      )

    /** Admits a request and answers it, or fails like an HTTP provider would. */
    const start = (
      options: LanguageModel.ProviderOptions,
      method: string
    ): Effect.Effect<{ ticket: Ticket; reply: Answer.Reply }, AiError.AiError> =>
      Effect.gen(function*() {
        const request = yield* toRequest(options, method)
        engine.countRequest("in-process")
        const now = yield* Clock.currentTimeMillis
        const admission = engine.admit(now)
        switch (admission._tag) {
          case "RateLimited": {
            const ms = admission.retryAfterMillis
            return yield* responseError(method, 429, {
              "retry-after": String(Math.ceil(ms / 1000)),
              "retry-after-ms": String(ms)
            }, `Rate limit reached (${admission.reason}); retry after ${ms} ms`)
          }
          case "ServerError":
            return yield* responseError(method, admission.status, {}, "The server had an error (simulated)")
          case "Reset":
            return yield* new AiError.HttpRequestError({
              module: MODULE,
              method,
              reason: "Transport",
              request: requestDetails(method),
              description: "Connection reset by peer (simulated)"
            })
          case "Admitted":
            break
        }
        const ticket = admission.ticket
        const outcome = engine.answer(request, ticket)
        if (outcome._tag === "Fail") {
          engine.release(ticket, "failed")
          return yield* responseError(method, outcome.status, {}, outcome.message)
        }
        return { ticket, reply: outcome.reply }
      })

    const metadata = (reply: Answer.Reply, now: number): Response.ResponseMetadataPartEncoded => ({
      type: "response-metadata",
      id: reply.id,
      modelId: model,
      timestamp: new Date(now).toISOString()
    })

    const finish = (reply: Answer.Reply, reason: Response.FinishPartEncoded["reason"]): Response.FinishPartEncoded => ({
      type: "finish",
      reason,
      usage: {
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        totalTokens: reply.inputTokens + reply.outputTokens
      }
    })

    const generateText = (options: LanguageModel.ProviderOptions) =>
      Effect.acquireUseRelease(
        start(options, "generateText"),
        ({ reply, ticket }) =>
          Effect.gen(function*() {
            const delay = engine.totalMillis(ticket, reply.outputTokens)
            if (delay > 0) yield* Effect.sleep(delay)
            const now = yield* Clock.currentTimeMillis
            const parts: Array<Response.PartEncoded> = [metadata(reply, now)]
            if (reply.text !== "" || reply.toolCalls.length === 0) parts.push({ type: "text", text: reply.text })
            for (const call of reply.toolCalls) {
              parts.push({ type: "tool-call", id: call.id, name: call.name, params: parseArguments(call.arguments) })
            }
            parts.push(finish(reply, reply.finishReason))
            return parts
          }),
        ({ ticket }, exit) =>
          Effect.sync(() =>
            engine.release(ticket, Exit.isSuccess(exit) ? "completed" : Exit.isInterrupted(exit) ? "aborted" : "failed")
          )
      )

    const streamText = (options: LanguageModel.ProviderOptions): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        // released when the stream ends, fails or is interrupted
        const state = { finished: false, truncated: false }
        const { reply, ticket } = yield* Effect.acquireRelease(
          start(options, "streamText"),
          ({ ticket }) =>
            Effect.sync(() =>
              engine.release(ticket, state.finished ? (state.truncated ? "truncated" : "completed") : "aborted")
            )
        )
        const now = yield* Clock.currentTimeMillis
        const steps: Array<Response.StreamPartEncoded> = []
        // index in `steps` of each token-carrying part, for pacing and truncation
        const tokenSteps: Array<number> = []
        steps.push(metadata(reply, now))
        if (reply.text !== "" || reply.toolCalls.length === 0) {
          steps.push({ type: "text-start", id: "0" })
          for (const delta of Answer.chunkText(reply.text)) {
            tokenSteps.push(steps.length)
            steps.push({ type: "text-delta", id: "0", delta })
          }
          steps.push({ type: "text-end", id: "0" })
        }
        for (const call of reply.toolCalls) {
          steps.push({ type: "tool-params-start", id: call.id, name: call.name })
          for (const delta of Answer.chunkArguments(call.arguments)) {
            tokenSteps.push(steps.length)
            steps.push({ type: "tool-params-delta", id: call.id, delta })
          }
          steps.push({ type: "tool-params-end", id: call.id })
          steps.push({ type: "tool-call", id: call.id, name: call.name, params: parseArguments(call.arguments) })
        }
        steps.push(finish(reply, reply.finishReason))

        // a truncated stream keeps at least one token and loses its end
        let end = steps.length
        if (ticket.truncate && tokenSteps.length > 0) {
          const keep = Math.max(1, Math.min(tokenSteps.length - 1, Math.floor(ticket.truncateAt * tokenSteps.length)))
          end = keep < tokenSteps.length ? tokenSteps[keep]! : tokenSteps[tokenSteps.length - 1]! + 1
        }
        const firstToken = engine.firstTokenMillis(ticket)
        const perToken = engine.perTokenMillis
        const firstTokenStep = tokenSteps[0] ?? 1
        const isToken = new Uint8Array(steps.length)
        for (const i of tokenSteps) isToken[i] = 1
        const parts = steps.slice(0, end)
        // When each part is due, in ms after `now`: the first token after `firstToken`, each
        // later one `perToken` after the previous, other parts with the token before them.
        // Due times are anchored at the start, and each wake-up emits every part due by then
        // in one chunk: a stream woken late (a loaded process) batches instead of paying a
        // timer and a trip through every stream layer per token.
        const due = new Float64Array(parts.length)
        for (let i = 1; i < parts.length; i++) {
          due[i] = due[i - 1]! +
            (i === firstTokenStep ? firstToken : i > firstTokenStep && isToken[i] === 1 ? perToken : 0)
        }
        let next = 0
        const emitDue = (at: number): Chunk.Chunk<Response.StreamPartEncoded> => {
          const from = next
          while (next < parts.length && now + due[next]! <= at) next++
          return Chunk.unsafeFromArray(parts.slice(from, next))
        }
        const pull: Effect.Effect<Chunk.Chunk<Response.StreamPartEncoded>, Option.Option<never>> = Effect.suspend(() => {
          if (next >= parts.length) return Effect.fail(Option.none())
          return Effect.flatMap(Clock.currentTimeMillis, (at) => {
            const wait = now + due[next]! - at
            return wait > 0
              ? Effect.zipRight(Effect.sleep(wait), Effect.map(Clock.currentTimeMillis, emitDue))
              : Effect.succeed(emitDue(at))
          })
        })
        const body: Stream.Stream<Response.StreamPartEncoded> = firstToken === 0 && perToken === 0
          ? Stream.fromIterable(parts)
          : Stream.repeatEffectChunkOption(pull)
        state.truncated = end < steps.length
        return Stream.concat(
          body,
          Stream.drain(Stream.fromEffect(Effect.sync(() => {
            state.finished = true
          })))
        )
      }))

    const generic = yield* LanguageModel.make({ generateText, streamText })
    const parentSpanTransformer = Option.getOrUndefined(yield* Effect.serviceOption(CurrentSpanTransformer))
    const plainOptions = (prompt: Prompt.RawInput, span: Tracer.Span): LanguageModel.ProviderOptions => ({
      prompt: Prompt.make(prompt),
      tools: [],
      toolChoice: "none",
      responseFormat: { type: "text" },
      span
    })
    type PlainOptions = Pick<LanguageModel.GenerateTextOptions<{}>, "prompt" | "concurrency"> & {
      readonly toolChoice?: unknown
    }

    // Without a toolkit, skip `LanguageModel.make`'s generic decoding (a response Schema built
    // per call, every part decoded): same span, span transformer and parts, as the providers do.
    const fastGenerateText = (
      options: PlainOptions
    ): Effect.Effect<LanguageModel.GenerateTextResponse<{}>, AiError.AiError> =>
      Effect.useSpan(
        "LanguageModel.generateText",
        { captureStackTrace: false, attributes: { concurrency: options.concurrency, toolChoice: options.toolChoice } },
        (span) => {
          const providerOptions = plainOptions(options.prompt, span)
          return generateText(providerOptions).pipe(
            Effect.flatMap(FastParts.parts),
            Effect.flatMap((content) =>
              Effect.map(Effect.context<never>(), (context) => {
                const transformer = context.unsafeMap.get(CurrentSpanTransformer.key) ?? parentSpanTransformer
                if (transformer !== undefined) transformer({ ...providerOptions, response: content })
                return new LanguageModel.GenerateTextResponse(content)
              })
            ),
            Effect.withParentSpan(span)
          )
        }
      )

    const fastStreamText = (options: PlainOptions): Stream.Stream<Response.StreamPart<{}>, AiError.AiError> =>
      Stream.unwrapScoped(Effect.flatMap(
        Effect.makeSpanScoped("LanguageModel.streamText", {
          captureStackTrace: false,
          attributes: { concurrency: options.concurrency, toolChoice: options.toolChoice }
        }),
        (span) =>
          Effect.map(Effect.context<never>(), (context) => {
            const providerOptions = plainOptions(options.prompt, span)
            const parts = Stream.mapChunksEffect(streamText(providerOptions), FastParts.streamChunk)
            const transformer = context.unsafeMap.get(CurrentSpanTransformer.key) ?? parentSpanTransformer
            return ResponseParts.reportStream(parts, transformer, providerOptions)
          })
      ))

    const languageModel: LanguageModel.Service = {
      ...generic,
      // No toolkit: the options carry no tools, so the parts hold no tool parts and the error
      // is AiError, exactly these methods' types for such options.
      streamText: (options) =>
        options.toolkit === undefined
          ? (fastStreamText(options) as ReturnType<LanguageModel.Service["streamText"]>)
          : generic.streamText(options),
      generateText: (options) =>
        options.toolkit === undefined
          ? (fastGenerateText(options) as ReturnType<LanguageModel.Service["generateText"]>)
          : generic.generateText(options)
    }
    return {
      languageModel,
      counters: Effect.sync(() => engine.counters()),
      reset: Effect.sync(() => engine.reset())
    }
  })

const parseArguments = (args: string): unknown => {
  try {
    return JSON.parse(args)
  } catch {
    return args
  }
}

/**
 * Makes the simulated `LanguageModel` service.
 *
 * @since 0.1.0
 */
export const make = (options?: SimulatorConfig.SimulatorOptions): Effect.Effect<LanguageModel.Service> =>
  Effect.map(makeInstance(options), (instance) => instance.languageModel)

/**
 * A layer providing the simulated `LanguageModel`.
 *
 * @since 0.1.0
 */
export const layer = (options?: SimulatorConfig.SimulatorOptions): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))
