/**
 * The Effect floor of the load test: the chat server's routes that `load.ts` uses, built only
 * from the building blocks effect-dspy builds on (Effect, `@effect/platform`'s `HttpServer` and
 * `HttpClient` on undici, `@effect/experimental`'s `Sse`, `Stream`, `Schema`) and none of
 * effect-dspy's code, written as an Effect app would write them. `load.ts` runs it next to the
 * chat server (`main.ts`) and the bare `node:http` floor (`floor.ts`), so that the figures
 * decompose into: what Node costs, what the Effect building blocks add, what effect-dspy adds.
 *
 *   node --import tsx examples/chat-server/effectFloor.ts --upstream http://127.0.0.1:PORT   # a simulator server
 *
 * A turn is the idiom of `@effect/ai`'s OpenAI client: the upstream body as a `Stream`, decoded
 * as text, framed by `Sse.makeChannel`, each event's JSON decoded with `Schema`, each delta
 * written to the client as an `Sse.encoder` frame; the conversation's history (a `Ref`) is sent
 * upstream and grows by the turn. An event stream (`GET …/events`) is a `Mailbox` of frames
 * that the response streams; a turn asked over it (`POST …/messages?via=events`) runs in a fiber
 * of a `FiberMap` keyed by conversation (busy while it runs; interrupted when the client goes
 * away) and offers its frames to that mailbox. One fiber pings every idle event stream every
 * 15 s, as the chat server and `floor.ts` do. No retries, timeouts, spans or limits: those are
 * what effect-dspy adds. A script, not a library.
 */
import * as Sse from "@effect/experimental/Sse"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import { performance } from "node:perf_hooks"
import * as ServerFigures from "./ServerFigures.js"

const args = process.argv.slice(2)
const upstreamIndex = args.indexOf("--upstream")
const upstream = upstreamIndex === -1 ? undefined : args[upstreamIndex + 1]
if (upstream === undefined) throw new Error("--upstream http://host:port (a simulator server) is required")

/** A chat-completions stream chunk: only what the floor reads. */
const CompletionChunk = Schema.Struct({
  choices: Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) }))
  })),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.Number,
    completion_tokens: Schema.Number
  })))
})
const decodeChunk = Schema.decode(Schema.parseJson(CompletionChunk))

const MessageBody = Schema.Struct({ message: Schema.String })

interface Message {
  readonly role: "user" | "assistant"
  readonly content: string
}

interface Conversation {
  readonly history: Ref.Ref<ReadonlyArray<Message>>
  /** The open event stream's frames, if one is open. */
  events: Mailbox.Mailbox<string> | undefined
}

const frame = (event: string, data: unknown): string =>
  Sse.encoder.write({ _tag: "Event", event, id: undefined, data: JSON.stringify(data) })

const ping = ": ping\n\n"
const sseHeaders = { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } } as const

const app = Effect.gen(function*() {
  const figures = ServerFigures.make()
  const conversations = new Map<string, Conversation>()
  const turns = yield* FiberMap.make<string>()
  const http = HttpClient.filterStatusOk(yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))

  /** The upstream answer to these messages: its chunks, as `@effect/ai`'s OpenAI client reads them. */
  const completion = (messages: ReadonlyArray<Message>) =>
    http.execute(
      HttpClientRequest.post(`${upstream}/v1/chat/completions`).pipe(
        HttpClientRequest.bodyUnsafeJson({ model: "sim-1", stream: true, stream_options: { include_usage: true }, messages })
      )
    ).pipe(
      Effect.map((response) => response.stream),
      Stream.unwrapScoped,
      Stream.decodeText(),
      Stream.pipeThroughChannel(Sse.makeChannel()),
      Stream.takeWhile((event) => event.data !== "[DONE]"),
      Stream.mapEffect((event) => decodeChunk(event.data))
    )

  /** One turn as SSE frames: its tokens, then `done` (the history grows) or one `error`. */
  const turn = (conversation: Conversation, message: string, start: number): Stream.Stream<string> =>
    Stream.unwrap(Effect.gen(function*() {
      const history = yield* Ref.get(conversation.history)
      const user: Message = { role: "user", content: message }
      let reply = ""
      let usage: unknown = {}
      let first = true
      const tokens = completion([...history, user]).pipe(
        Stream.filterMap((chunk) => {
          if (chunk.usage != null) usage = chunk.usage
          const delta = chunk.choices[0]?.delta?.content
          if (delta == null || delta === "") return Option.none()
          if (first) {
            first = false
            figures.firstToken(start)
          }
          reply += delta
          return Option.some(frame("token", { delta }))
        })
      )
      const done = Effect.suspend(() =>
        Effect.as(
          Ref.update(conversation.history, (h): ReadonlyArray<Message> => [...h, user, { role: "assistant", content: reply }]),
          frame("done", { reply, usage })
        )
      )
      return tokens.pipe(
        Stream.concat(Stream.fromEffect(done)),
        Stream.catchAll((error) =>
          Stream.fromEffect(Effect.as(
            Console.error(`effectFloor: a turn failed: ${String(error)}${"cause" in error ? ` (${String(error.cause)})` : ""}`),
            frame("error", { error: "Unavailable", message: "the model failed", retryable: true })
          )))
      )
    }))

  /** Counts a turn's outcome (an error event ends it as failed). */
  const counted = (frames: Stream.Stream<string>): Stream.Stream<string> =>
    Stream.suspend(() => {
      let outcome: "aborted" | "completed" | "failed" = "aborted"
      figures.turnStarted()
      return frames.pipe(
        Stream.tap((text) =>
          Effect.sync(() => {
            if (text.startsWith("event: done")) outcome = "completed"
            else if (text.startsWith("event: error")) outcome = "failed"
          })
        ),
        Stream.ensuring(Effect.sync(() => figures.turnEnded(outcome)))
      )
    })

  // The heartbeat: one fiber pings every open event stream with no turn under way (none for a
  // client whose stream's buffer is full: it is not reading).
  yield* Effect.forkScoped(Effect.repeat(
    Effect.sync(() => {
      for (const [id, conversation] of conversations) {
        if (conversation.events === undefined || FiberMap.unsafeHas(turns, id)) continue
        if (conversation.events.unsafeOffer(ping)) figures.heartbeat()
      }
    }),
    Schedule.spaced("15 seconds")
  ))

  const conversationOf = Effect.map(HttpRouter.params, (params) => {
    const id = params["id"] ?? ""
    return { id, conversation: conversations.get(id) }
  })
  const notFound = HttpServerResponse.empty({ status: 404 })

  return HttpRouter.empty.pipe(
    HttpRouter.post(
      "/api/conversations",
      Effect.gen(function*() {
        const id = randomUUID()
        conversations.set(id, { history: yield* Ref.make<ReadonlyArray<Message>>([]), events: undefined })
        return yield* HttpServerResponse.json({ id }, { status: 201 })
      })
    ),
    HttpRouter.get(
      "/api/conversations/:id/events",
      Effect.gen(function*() {
        const { conversation, id } = yield* conversationOf
        if (conversation === undefined) return notFound
        if (conversation.events !== undefined) return HttpServerResponse.empty({ status: 409 })
        const events = yield* Mailbox.make<string>({ capacity: 64 })
        conversation.events = events
        figures.streamOpened()
        yield* events.offer("event: open\ndata: {}\n\n")
        // when the client goes away: forget the stream, interrupt its turn
        const closed = Effect.zipRight(
          Effect.sync(() => {
            figures.streamClosed()
            conversation.events = undefined
          }),
          FiberMap.remove(turns, id)
        )
        return HttpServerResponse.stream(
          Mailbox.toStream(events).pipe(Stream.encodeText, Stream.ensuring(closed)),
          sseHeaders
        )
      })
    ),
    HttpRouter.post(
      "/api/conversations/:id/messages",
      Effect.gen(function*() {
        const start = performance.now()
        const { conversation, id } = yield* conversationOf
        if (conversation === undefined) return notFound
        const body = yield* Effect.option(HttpServerRequest.schemaBodyJson(MessageBody))
        if (Option.isNone(body)) return HttpServerResponse.empty({ status: 400 })
        const request = yield* HttpServerRequest.HttpServerRequest
        const frames = counted(turn(conversation, body.value.message, start))
        if (!request.url.endsWith("?via=events")) return HttpServerResponse.stream(Stream.encodeText(frames), sseHeaders)
        const events = conversation.events
        if (events === undefined || (yield* FiberMap.has(turns, id))) return HttpServerResponse.empty({ status: 409 })
        yield* FiberMap.run(turns, id, Stream.runForEachChunk(frames, (chunk) => events.offerAll(chunk)))
        return yield* HttpServerResponse.json({ accepted: true }, { status: 202 })
      })
    ),
    HttpRouter.get("/admin/stats", Effect.suspend(() => HttpServerResponse.json(figures.stats({ held: conversations.size, expired: 0 })))),
    HttpRouter.post("/admin/stats/reset", Effect.sync(() => {
      figures.reset()
      return HttpServerResponse.empty({ status: 204 })
    }))
  )
})

const main = Layer.unwrapScoped(Effect.map(app, (router) =>
  // no server span per request, as the chat server (a span per request costs more than it tells here)
  HttpMiddleware.withTracerDisabledWhen(HttpServer.serve(router), () => true).pipe(
    Layer.tap(() => HttpServer.addressFormattedWith((url) => Console.log(`Effect floor listening on ${url}`)))
  ))).pipe(
  Layer.provide(NodeHttpServer.layer(() => Http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0 }), {
    port: 0,
    host: "127.0.0.1",
    backlog: 8192
  })),
  Layer.provide(NodeHttpClient.layerUndici)
)

NodeRuntime.runMain(Layer.launch(main))
