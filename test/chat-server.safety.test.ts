/**
 * The chat server's safety: a failed turn sends browsers a typed error written by the server (no
 * upstream URL, password, key or HTML page), conversations expire when idle, and one client
 * cannot hold more than its share.
 */
import type { Conversation } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as ChatError from "../examples/chat-server/ChatError.js"
import type * as ChatServer from "../examples/chat-server/ChatServer.js"
import * as Conversations from "../examples/chat-server/Conversations.js"
import * as Client from "./utils/chatServer.js"

/** The model: the simulator, registered as a provider. */
const simulated = Lm.layer("simulator/sim-1").pipe(Layer.provide(SimulatorProvider.layer()))

/** An upstream that answers every request with `status` and an HTML error page naming secrets. */
const htmlUpstream = (status: number) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer((req, res) => {
        res.writeHead(status, { "content-type": "text/html" })
        res.end(`<html><body><h1>${status} Bad Gateway</h1><p>upstream ${req.headers.host}${req.url} token=upstreamsecret42</p></body></html>`)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map((server) => `127.0.0.1:${(server.address() as AddressInfo).port}`))

const sseEvents = (text: string) =>
  text.split("\n\n").filter((b) => b.startsWith("event: ")).map((block) => {
    const [head, data] = block.split("\ndata: ")
    return { event: head!.slice("event: ".length), data: JSON.parse(data!) as unknown }
  })

const stats = (base: string) => Effect.map(Client.getJson(`${base}/admin/stats`), (body) => body as ChatServer.Stats)

describe("chat server safety", () => {
  it.scopedLive("an upstream failure becomes a typed, safe error event (no URL, secret or HTML)", () =>
    Effect.gen(function*() {
      const upstream = yield* htmlUpstream(502)
      const model = Lm.layer("openai-compatible/any", {
        baseUrl: `http://ada:hunter2hunter2@${upstream}/v1?api_key=querysecret123`,
        apiKey: Redacted.make("sk-header-secret-0123456789"),
        retry: false
      })
      const base = yield* Client.start(model)
      const id = yield* Client.createConversation(base)
      const reply = yield* Client.post(`${base}/api/conversations/${id}/messages`, { message: "hello" })
      assert.strictEqual(reply.status, 200)
      const events = sseEvents(reply.text)
      assert.strictEqual(events.length, 1)
      assert.strictEqual(events[0]!.event, "error")
      const body = Schema.decodeUnknownSync(ChatError.ChatError)(events[0]!.data)
      assert.deepStrictEqual(body, {
        error: "Unavailable",
        message: "the model service is unavailable right now; try again in a moment",
        retryable: true
      })
      for (const leak of ["hunter2hunter2", "querysecret123", "sk-header", "upstreamsecret42", "<html", upstream, "UnknownError"]) {
        assert.notInclude(reply.text, leak)
      }
      assert.strictEqual((yield* stats(base)).failedStreams, 1)
    }))

  it("every provider failure kind maps to a kind the page knows, with the server's own words", () => {
    const known = new Set(ChatError.Kind.literals)
    for (const error of [new Error("http://u:p@host/ <html>"), { _tag: "Weird", message: "x" }, "text", undefined]) {
      const safe = ChatError.of(error)
      assert.isTrue(known.has(safe.error))
      assert.notInclude(safe.message, "http")
    }
    assert.strictEqual(ChatError.of({ _tag: "ConversationBusy", message: "busy" }).error, "ConversationBusy")
    assert.notInclude(ChatError.describeForLog(new Error("GET http://ada:pw123456@h/x?api_key=abcdefgh")), "pw123456")
  })

  it.scoped("an idle conversation expires after the timeout; a request keeps it alive", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(simulated, { conversationIdleTimeout: "10 minutes" })
      const kept = yield* Client.createConversation(base)
      const dropped = yield* Client.createConversation(base)
      yield* TestClock.adjust("6 minutes")
      assert.isObject(yield* Client.getJson(`${base}/api/conversations/${kept}`))
      yield* TestClock.adjust("6 minutes")
      const gone = yield* Client.post(`${base}/api/conversations/${dropped}/messages`, { message: "still there?" })
      assert.strictEqual(gone.status, 404)
      assert.strictEqual((JSON.parse(gone.text) as { error: string }).error, "UnknownConversation")
      const s = yield* stats(base)
      assert.strictEqual(s.conversations, 1)
      assert.strictEqual(s.expiredConversations, 1)
      yield* TestClock.adjust("11 minutes")
      assert.strictEqual((yield* stats(base)).conversations, 0)
    }))

  it.scopedLive("one client holds at most its share of conversations", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(simulated, { maxConversationsPerClient: 2 })
      const first = yield* Client.createConversation(base)
      yield* Client.createConversation(base)
      const third = yield* Client.post(`${base}/api/conversations`)
      assert.strictEqual(third.status, 429)
      assert.strictEqual((JSON.parse(third.text) as { error: string }).error, "TooManyConversationsForClient")
      yield* Effect.promise(() => fetch(`${base}/api/conversations/${first}`, { method: "DELETE" }))
      yield* Client.createConversation(base)
    }))

  it.scoped("a conversation answering a message is never idle", () =>
    Effect.gen(function*() {
      const registry = yield* Conversations.make({ idleTimeout: "1 minute" })
      let busy = true
      // only `busy` is read by the registry
      const conversation = { busy: Effect.sync(() => busy) } as unknown as Conversation.Conversation
      yield* registry.add("c", "client", conversation)
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(registry.size(), 1)
      busy = false
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(registry.size(), 0)
      assert.strictEqual(registry.expired(), 1)
    }))
})
