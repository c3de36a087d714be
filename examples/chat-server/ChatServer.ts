/**
 * A chat server streaming answers to browsers over Server-Sent Events.
 *
 * - `POST /api/conversations` → `201 {"id"}`
 * - `POST /api/conversations/:id/messages` with `{"message"}` → an SSE stream:
 *   `event: token` (`{"delta"}`) for each token as it arrives, then `event: done`
 *   (`{"reply","usage"}`), or `event: error` (`{"error","message","retryable"}`, see `ChatError`:
 *   a kind and a message written here, never the upstream's text)
 * - `GET /api/conversations/:id/events` → an SSE stream that stays open: `event: open` at once,
 *   then the events of every turn asked with `POST …/messages?via=events` (which answers `202`),
 *   idle in between, with an SSE comment (`: ping`) every `heartbeatInterval` while idle, so that
 *   proxies and browsers keep it open. One per conversation (a second gets 409); closing it
 *   interrupts its turn.
 * - `GET /api/conversations/:id` → the history (`Conversation.Snapshot`)
 * - `DELETE /api/conversations/:id`
 * - `GET /` and `GET /app.js` → the page; `GET /admin/stats` → server figures
 *
 * Each conversation is a `Conversation` value (its own history, its turns one at a time) kept in a registry
 * that belongs to this server instance (`Conversations`): forgotten after an idle timeout, at
 * most so many per client. A turn streams in the fiber of its request: when the client
 * goes away the platform interrupts that fiber, which interrupts the model's stream and its
 * upstream HTTP request. An event stream's body is a Node `PassThrough` piped to the socket,
 * and a turn asked over it runs in a fiber of its own, interrupted when the client goes away: an
 * idle conversation holds its socket, that pipe and its history (and the platform's request
 * fiber, waiting on the pipe), and nothing runs for it. Bad input gets a 4xx with a JSON body
 * `{"error","message"}`.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Conversation, type StreamPredict } from "@effect-dspy/core"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { randomUUID } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as Http from "node:http"
import { join } from "node:path"
import { PassThrough } from "node:stream"
import { performance } from "node:perf_hooks"
import * as ChatError from "./ChatError.js"
import * as Conversations from "./Conversations.js"
import type { ProcessStats } from "./ProcessFigures.js"
import * as ServerFigures from "./ServerFigures.js"

/** Options of the server. */
export interface Options {
  /** Largest accepted message, in UTF-8 bytes (default 8 KiB). */
  readonly maxMessageBytes?: number | undefined
  /** Most conversations held at once; creating more gets 503 (default 100,000). */
  readonly maxConversations?: number | undefined
  /** Most conversations one client (by address) holds at once; creating more gets 429 (default 50). */
  readonly maxConversationsPerClient?: number | undefined
  /** A conversation without a request for this long is forgotten (default 30 minutes). */
  readonly conversationIdleTimeout?: Duration.DurationInput | undefined
  /** Most user/assistant messages kept per conversation (default 40). */
  readonly maxHistoryMessages?: number | undefined
  /** The system message of new conversations. */
  readonly system?: string | undefined
  /** Where `index.html` and `app.js` are (default: `public/` next to this file). */
  readonly publicDir?: string | undefined
  /** Make a server span per request (default false). */
  readonly traceRequests?: boolean | undefined
  /**
   * How often an idle open event stream gets an SSE comment (`: ping`), so that proxies and
   * browsers do not close it for silence (default 15 seconds; an infinite duration turns it
   * off). One fiber per server pings every idle stream; an idle stream runs nothing of its own.
   */
  readonly heartbeatInterval?: Duration.DurationInput | undefined
}

/** Figures served at `GET /admin/stats` (durations in milliseconds). */
export interface Stats extends ProcessStats {
  readonly conversations: number
  /** Event streams (`GET …/events`) open now, and at most at once. */
  readonly openEventStreams: number
  readonly maxOpenEventStreams: number
  /** Heartbeats (`: ping`) sent on idle event streams since the start. */
  readonly heartbeats: number
  /** Conversations forgotten after the idle timeout. */
  readonly expiredConversations: number
  readonly activeStreams: number
  readonly maxActiveStreams: number
  readonly startedStreams: number
  readonly completedStreams: number
  readonly failedStreams: number
  readonly abortedStreams: number
}

const ErrorBody = (error: string, message: string) => ({ error, message })

const jsonError = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson(ErrorBody(error, message), { status })

const MessageBody = Schema.Struct({ message: Schema.String })
const decodeMessageBody = Schema.decodeUnknownEither(MessageBody)

const encoder = new TextEncoder()

/** An SSE comment: clients ignore it; it keeps an idle connection from looking dead. */
const pingBytes = encoder.encode(": ping\n\n")
const openBytes = encoder.encode("event: open\ndata: {}\n\n")

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/** The server's state: its conversations and figures. Everything belongs to one server instance. */
const makeState = (options: Options) =>
  Effect.gen(function*() {
    const conversations = yield* Conversations.make({
      idleTimeout: options.conversationIdleTimeout,
      maxPerClient: options.maxConversationsPerClient,
      maxTotal: options.maxConversations
    })
    const figures = yield* Effect.acquireRelease(Effect.sync(ServerFigures.make), (f) => Effect.sync(f.stop))
    const eventStreams = new Map<string, EventStream>()
    // The heartbeat: one fiber for the server, waking every interval, pings every event stream
    // that is idle (a turn's own tokens keep a busy one alive; a client that does not read gets
    // no pile of pings).
    const heartbeat = Duration.decode(options.heartbeatInterval ?? Duration.seconds(15))
    if (Duration.isFinite(heartbeat) && Duration.toMillis(heartbeat) > 0) {
      const ping = Effect.sync(() => {
        for (const events of eventStreams.values()) events.ping()
      })
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(heartbeat), ping)))
    }
    // turns asked over event streams run in fibers of the server's scope
    const scope = yield* Effect.scope
    const stats = (): Stats => figures.stats({ held: conversations.size(), expired: conversations.expired() })
    return { options, conversations, eventStreams, figures, stats, scope }
  })

/** An open event stream. */
interface EventStream {
  /** A turn is asked or answering. */
  busy: boolean
  /**
   * Starts a turn on the stream (`start`: when its request arrived); false when the stream is
   * busy, closed, or ending.
   */
  readonly ask: (message: string, start: number) => Effect.Effect<boolean>
  /** Writes a heartbeat, unless a turn is under way or the client is not reading. */
  readonly ping: () => void
}

type State = Effect.Effect.Success<ReturnType<typeof makeState>>

/** Reads and checks the `{message}` body: a Left is the error response. */
const readMessage = (maxBytes: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // JSON escaping can at most sextuple a message (\u00XX); anything beyond is refused unread
    const maxBody = maxBytes * 6 + 1024
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBody) {
      return Either.left(jsonError(413, "PayloadTooLarge", `the message is larger than ${maxBytes} bytes`))
    }
    const text = yield* Effect.either(
      request.text.pipe(HttpServerRequest.withMaxBodySize(Option.some(maxBody)))
    )
    if (Either.isLeft(text)) {
      return Either.left(jsonError(413, "PayloadTooLarge", `the message is larger than ${maxBytes} bytes`))
    }
    let json: unknown
    try {
      json = JSON.parse(text.right)
    } catch {
      return Either.left(jsonError(400, "MalformedJson", "the body is not valid JSON; expected {\"message\": string}"))
    }
    const body = decodeMessageBody(json)
    if (Either.isLeft(body)) {
      return Either.left(jsonError(400, "InvalidBody", "expected a JSON object {\"message\": string}"))
    }
    const message = body.right.message
    if (message.trim().length === 0) return Either.left(jsonError(400, "EmptyMessage", "the message is empty"))
    if (Buffer.byteLength(message, "utf8") > maxBytes) {
      return Either.left(jsonError(413, "PayloadTooLarge", `the message is larger than ${maxBytes} bytes`))
    }
    return Either.right(message)
  })

/** Whether a message asks to be answered over the conversation's event stream (`?via=events`). */
const viaEventsOf = (url: string): boolean => {
  const q = url.indexOf("?")
  return q !== -1 && new URLSearchParams(url.slice(q + 1)).get("via") === "events"
}

const EventStreamOpen = {
  error: "EventStreamOpen",
  message: "this conversation has an event stream open already; close it first"
} as const

/**
 * The model alone, to run a turn with: `Effect.context()` would also carry the request's own
 * `Scope`, and a turn started on an event stream must not hold its lock (and finalizers) in the
 * scope of the request that asked it.
 */
const modelContext = Effect.map(LanguageModel.LanguageModel, (model) => Context.make(LanguageModel.LanguageModel, model))

const idOf = Effect.map(HttpRouter.params, (params) => params["id"] ?? "")

const unknownConversation = (id: string) =>
  jsonError(404, "UnknownConversation", `no conversation with id ${JSON.stringify(id.slice(0, 64))}`)

/**
 * The SSE body of one turn: tokens, then `done`, or `error`. The turn is started with the
 * model provided once (not on every pull), each chunk of events becomes one write (under load
 * events queue up and a chunk carries many), and how the stream ended is counted.
 */
const sseTurn = (
  state: State,
  id: string,
  conversation: Conversation.Conversation,
  message: string,
  start: number,
  context: Context.Context<LanguageModel.LanguageModel>,
  onEnd?: () => void
): Stream.Stream<Uint8Array> => {
  const { figures } = state
  let first = true
  let outcome: "aborted" | "completed" | "failed" = "aborted"
  // a failure (or a defect) of the turn becomes one safe error event
  const failed = (cause: Cause.Cause<unknown>) => {
    outcome = "failed"
    return Stream.fromEffect(
      Effect.map(ChatError.report(Cause.squash(cause)), (error) => encoder.encode(frame("error", error)))
    )
  }
  const toFrames = (chunk: Chunk.Chunk<StreamPredict.StreamEvent<Conversation.Reply>>) => {
    let text = ""
    for (const event of chunk) {
      switch (event._tag) {
        case "TokenDelta":
          if (first) {
            first = false
            figures.firstToken(start)
          }
          text += frame("token", { delta: event.delta })
          break
        case "FieldDelta":
          break
        case "Final":
          outcome = "completed"
          text += frame("done", { reply: event.prediction.output.reply, usage: event.prediction.usage })
      }
    }
    return text === "" ? Chunk.empty<Uint8Array>() : Chunk.of(encoder.encode(text))
  }
  return Stream.unwrapScoped(Effect.gen(function*() {
    figures.turnStarted()
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Effect.sync(() => {
          figures.turnEnded(outcome)
          onEnd?.()
        }),
        // the idle timeout counts from the end of the turn
        state.conversations.touch(id)
      )
    )
    return yield* conversation.start(message, { ifBusy: "fail" }).pipe(
      Effect.provide(context),
      Effect.map((events) => events.pipe(Stream.mapChunks(toFrames), Stream.catchAllCause(failed))),
      Effect.catchAllCause((cause) => Effect.succeed(failed(cause)))
    )
  }))
}

/**
 * Opens an event stream: `open`, then each asked turn's events in turn, until the client goes
 * away (interrupting the turn under way) or the conversation is forgotten (the stream ends after
 * the turn under way).
 *
 * The body is a Node `PassThrough` that the platform pipes to the socket, not an Effect `Stream`:
 * an idle open stream then holds no suspended stream (measured: a fiber parked inside a running
 * `Stream` holds ~21 KiB; one waiting on a promise, as the platform's does on the pipe, ~1.2 KiB).
 * A turn runs in a fiber of its own, forked into the server's scope when it is asked and
 * interrupted when the client goes away.
 */
const eventStream = (
  state: State,
  id: string,
  conversation: Conversation.Conversation,
  context: Context.Context<LanguageModel.LanguageModel>,
  response: Http.ServerResponse
): HttpServerResponse.HttpServerResponse => {
  const { figures } = state
  const out = new PassThrough()
  out.on("error", () => {})
  // the client's response closed (finished, or the client left before the pipe was set up)
  response.once("close", () => out.destroy())
  let turn: Fiber.RuntimeFiber<void> | undefined
  // forgotten (deleted or expired): end once the turn under way is done
  let ending = false
  let closed = false
  const end = () => {
    if (!closed) out.end()
  }
  const close = () => {
    ending = true
    if (!events.busy) end()
  }
  // Writes a chunk of frames; waits for the socket to drain (or close) when its buffer is full.
  const write = (chunk: Chunk.Chunk<Uint8Array>): Effect.Effect<void> => {
    let full = false
    for (const bytes of chunk) full = !out.write(bytes) || full
    return !full || closed ? Effect.void : Effect.async<void>((resume) => {
      const go = () => resume(Effect.void)
      out.once("drain", go).once("close", go)
      return Effect.sync(() => void out.off("drain", go).off("close", go))
    })
  }
  const ended = () => {
    events.busy = false
    turn = undefined
    if (ending) end()
  }
  const events: EventStream = {
    busy: false,
    ask: (message, start) =>
      Effect.suspend(() => {
        if (closed || ending || events.busy) return Effect.succeed(false)
        events.busy = true
        const body = sseTurn(state, id, conversation, message, start, context, ended)
        return Effect.map(Effect.forkIn(Stream.runForEachChunk(body, write), state.scope), (fiber) => {
          if (events.busy) turn = fiber
          return true
        })
      }),
    ping: () => {
      if (events.busy || closed || out.writableNeedDrain) return
      figures.heartbeat()
      out.write(pingBytes)
    }
  }
  if (!state.conversations.attach(id, close)) {
    return HttpServerResponse.uint8Array(encoder.encode(frame("error", { ...EventStreamOpen, retryable: false })), {
      contentType: "text/event-stream"
    })
  }
  state.eventStreams.set(id, events)
  figures.streamOpened()
  // the pipe to the client ended (the client went away, or `end` above): forget the stream
  out.once("close", () => {
    closed = true
    figures.streamClosed()
    state.conversations.detach(id, close)
    if (state.eventStreams.get(id) === events) state.eventStreams.delete(id)
    if (turn !== undefined) Effect.runFork(Fiber.interrupt(turn))
  })
  out.write(openBytes)
  return HttpServerResponse.raw(out, {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
  })
}

const router = (state: State, files: { readonly html: string; readonly js: string }) => {
  const maxBytes = state.options.maxMessageBytes ?? 8 * 1024
  return HttpRouter.empty.pipe(
    HttpRouter.get("/", Effect.succeed(HttpServerResponse.text(files.html, { contentType: "text/html; charset=utf-8" }))),
    HttpRouter.get(
      "/app.js",
      Effect.succeed(HttpServerResponse.text(files.js, { contentType: "text/javascript; charset=utf-8" }))
    ),
    HttpRouter.post(
      "/api/conversations",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const client = Option.getOrElse(request.remoteAddress, () => "unknown")
        const refused = (refusal: Conversations.Refusal) =>
          refusal._tag === "ServerFull"
            ? jsonError(503, "TooManyConversations", `the server holds ${refusal.max} conversations already`)
            : jsonError(429, "TooManyConversationsForClient", `you hold ${refusal.max} conversations already: delete one, or wait for one to expire`)
        const early = state.conversations.refusal(client)
        if (early !== undefined) return refused(early)
        const conversation = yield* Conversation.make({
          system: state.options.system,
          maxMessages: state.options.maxHistoryMessages ?? 40
        })
        const id = randomUUID()
        const refusal = yield* state.conversations.add(id, client, conversation)
        if (refusal !== undefined) return refused(refusal)
        return HttpServerResponse.unsafeJson({ id }, { status: 201 })
      })
    ),
    HttpRouter.get(
      "/api/conversations/:id",
      Effect.gen(function*() {
        const id = yield* idOf
        const conversation = yield* state.conversations.get(id)
        if (conversation === undefined) return unknownConversation(id)
        return HttpServerResponse.unsafeJson(yield* conversation.snapshot)
      })
    ),
    HttpRouter.del(
      "/api/conversations/:id",
      Effect.gen(function*() {
        const id = yield* idOf
        if (!state.conversations.remove(id)) return unknownConversation(id)
        return HttpServerResponse.empty({ status: 204 })
      })
    ),
    HttpRouter.get(
      "/api/conversations/:id/events",
      Effect.gen(function*() {
        const id = yield* idOf
        const conversation = yield* state.conversations.get(id)
        if (conversation === undefined) return unknownConversation(id)
        if (state.eventStreams.has(id)) {
          return jsonError(409, EventStreamOpen.error, EventStreamOpen.message)
        }
        const context = yield* modelContext
        const request = yield* HttpServerRequest.HttpServerRequest
        return eventStream(state, id, conversation, context, NodeHttpServerRequest.toServerResponse(request))
      })
    ),
    HttpRouter.post(
      "/api/conversations/:id/messages",
      Effect.gen(function*() {
        const start = performance.now()
        const request = yield* HttpServerRequest.HttpServerRequest
        const viaEvents = viaEventsOf(request.url)
        const id = yield* idOf
        const conversation = yield* state.conversations.get(id)
        if (conversation === undefined) return unknownConversation(id)
        const message = yield* readMessage(maxBytes)
        if (Either.isLeft(message)) return message.left
        const events = state.eventStreams.get(id)
        if (events?.busy === true || (yield* conversation.busy)) {
          return jsonError(409, "ConversationBusy", "this conversation is already answering a message")
        }
        if (viaEvents) {
          if (events === undefined) {
            return jsonError(409, "NoEventStream", "open GET /api/conversations/:id/events before asking with ?via=events")
          }
          if (!(yield* events.ask(message.right, start))) {
            return jsonError(409, "NoEventStream", "the conversation's event stream has closed")
          }
          return HttpServerResponse.unsafeJson({ accepted: true }, { status: 202 })
        }
        const context = yield* modelContext
        const body = sseTurn(state, id, conversation, message.right, start, context)
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      })
    ),
    HttpRouter.get("/admin/stats", Effect.sync(() => HttpServerResponse.unsafeJson(state.stats()))),
    HttpRouter.post(
      "/admin/stats/reset",
      Effect.sync(() => {
        state.figures.reset()
        return HttpServerResponse.empty({ status: 204 })
      })
    ),
    HttpRouter.all(
      "*",
      Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        jsonError(404, "NotFound", `no route for ${request.method} ${request.url.split("?")[0]}`))
    )
  )
}

/**
 * A Node HTTP server layer: `port` 0 picks a free port. Open connections (streams, idle
 * keep-alives) are closed on shutdown so that it never waits on clients.
 */
export const serverLayer = (options: { readonly port: number; readonly host?: string | undefined }) =>
  Layer.scoped(
    HttpServer.HttpServer,
    Effect.gen(function*() {
      let node: Http.Server | undefined
      const server = yield* NodeHttpServer.make(
        () => (node = Http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0 })),
        { port: options.port, host: options.host ?? "127.0.0.1", backlog: 8192 }
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => node?.closeAllConnections()))
      return server
    })
  )

const loadFiles = (dir: string) =>
  Effect.promise(async () => ({
    html: await readFile(join(dir, "index.html"), "utf8"),
    js: await readFile(join(dir, "app.js"), "utf8")
  }))

/** The server's routes, served on the `HttpServer` in context; the model comes from the context. */
export const layer = (options: Options = {}): Layer.Layer<never, never, HttpServer.HttpServer | LanguageModel.LanguageModel> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const state = yield* makeState(options)
    const files = yield* loadFiles(options.publicDir ?? join(import.meta.dirname, "public"))
    const app = yield* HttpRouter.toHttpApp(router(state, files))
    // No server span per request unless asked: with thousands of streams they cost more than they tell.
    const served = HttpServer.serve(app)
    return options.traceRequests === true ? served : HttpMiddleware.withTracerDisabledWhen(served, () => true)
  }))
