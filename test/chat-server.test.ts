/**
 * The chat server over real loopback HTTP: bad input gets a 4xx with a JSON error body, a turn
 * streams tokens then `done`, and a client that disconnects mid-stream frees its fiber and the
 * upstream request (the simulator server counts the abort).
 */
import { Lm } from "@effect-dspy/providers"
import { Script, Simulator, SimulatorServer } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Duration, Effect, Layer, Stream, TestClock } from "effect"
import * as Http from "node:http"
import * as ChatServer from "../examples/chat-server/ChatServer.js"
import * as Client from "./utils/chatServer.js"

const answer = "Flat whites are small, strong and velvety, with a thin layer of microfoam."

const inProcessModel = Simulator.layer({ script: [Script.when(() => true, Script.text(answer))] })

const errorOf = (text: string): { readonly error: string; readonly message: string } => {
  const body: unknown = JSON.parse(text)
  if (typeof body !== "object" || body === null || !("error" in body) || !("message" in body)) {
    throw new Error(`not an error body: ${text}`)
  }
  return { error: String(body.error), message: String(body.message) }
}

const stats = (base: string) =>
  Effect.map(Client.getJson(`${base}/admin/stats`), (body) => body as ChatServer.Stats)

describe("chat server", () => {
  it.scopedLive("streams tokens as SSE, then a final event, and keeps the history", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(inProcessModel)
      const id = yield* Client.createConversation(base)
      const reply = yield* Client.post(`${base}/api/conversations/${id}/messages`, { message: "What is a flat white?" })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.contentType, "text/event-stream")
      const events = reply.text.split("\n\n").filter((b) => b.startsWith("event: "))
      const tokens = events.filter((e) => e.startsWith("event: token"))
      assert.isTrue(tokens.length > 5)
      const done = events[events.length - 1]!
      assert.isTrue(done.startsWith("event: done"))
      const final = JSON.parse(done.split("\ndata: ")[1]!) as { reply: string; usage: { lmCalls: number } }
      assert.strictEqual(final.reply, answer)
      assert.strictEqual(final.usage.lmCalls, 1)
      const joined = tokens.map((t) => (JSON.parse(t.split("\ndata: ")[1]!) as { delta: string }).delta).join("")
      assert.strictEqual(joined, answer)
      const history = (yield* Client.getJson(`${base}/api/conversations/${id}`)) as { history: { content: Array<unknown> } }
      assert.strictEqual(history.history.content.length, 2)
    }))

  it.scopedLive("refuses bad input with a 4xx and a JSON error body", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(inProcessModel, { maxMessageBytes: 8 * 1024 })
      const id = yield* Client.createConversation(base)
      const url = `${base}/api/conversations/${id}/messages`
      const cases: ReadonlyArray<readonly [string, Effect.Effect<Client.Reply>, number, string]> = [
        ["unknown id", Client.post(`${base}/api/conversations/no-such-id/messages`, { message: "hi" }), 404, "UnknownConversation"],
        ["malformed JSON", Client.post(url, "{\"message\": "), 400, "MalformedJson"],
        ["not an object with a message", Client.post(url, { msg: "hi" }), 400, "InvalidBody"],
        ["empty message", Client.post(url, { message: "   " }), 400, "EmptyMessage"],
        ["message over 8 KiB", Client.post(url, { message: "x".repeat(8 * 1024 + 1) }), 413, "PayloadTooLarge"],
        ["huge body", Client.post(url, { message: "é".repeat(200_000) }), 413, "PayloadTooLarge"],
        ["unknown route", Client.post(`${base}/api/nothing`), 404, "NotFound"]
      ]
      for (const [name, request, status, tag] of cases) {
        const reply = yield* request
        assert.strictEqual(reply.status, status, name)
        assert.include(reply.contentType ?? "", "application/json", name)
        assert.strictEqual(errorOf(reply.text).error, tag, name)
      }
      // exactly 8 KiB is fine
      const ok = yield* Client.post(url, { message: "y".repeat(8 * 1024) })
      assert.strictEqual(ok.status, 200)
      const s = yield* stats(base)
      assert.strictEqual(s.startedStreams, 1)
    }))

  it.scopedLive("a client that disconnects mid-stream frees its fiber and its upstream request", () =>
    Effect.gen(function*() {
      // the model is the simulator server over HTTP, slow enough to be cut mid-answer
      const simulator = yield* SimulatorServer.make({
        timeToFirstTokenMillis: 10,
        tokensPerSecond: 20,
        script: [Script.when(() => true, Script.text(Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ")))]
      })
      const model = Lm.layer("openai-compatible/sim-1", { baseUrl: `${simulator.url}/v1`, retry: false })
      const base = yield* Client.start(model)
      const id = yield* Client.createConversation(base)
      const request = yield* Client.openStreamUntilFirstToken(`${base}/api/conversations/${id}/messages`, "Tell me a long story")
      const during = yield* simulator.counters
      assert.strictEqual(during.inFlight, 1)
      assert.strictEqual((yield* stats(base)).activeStreams, 1)
      request.destroy()
      const after = yield* Client.eventually(simulator.counters, (c) => c.abortedByClient === 1 && c.inFlight === 0)
      assert.strictEqual(after.completed, 0)
      const s = yield* Client.eventually(stats(base), (x) => x.activeStreams === 0)
      assert.strictEqual(s.abortedStreams, 1)
      assert.strictEqual(s.completedStreams, 0)
      // the interrupted turn left the history unchanged, and the conversation takes a new turn
      const history = (yield* Client.getJson(`${base}/api/conversations/${id}`)) as { history: { content: Array<unknown> } }
      assert.strictEqual(history.history.content.length, 0)
    }))

  it.scopedLive("a second message while a turn is streaming gets 409", () =>
    Effect.gen(function*() {
      const simulator = yield* SimulatorServer.make({
        tokensPerSecond: 20,
        script: [Script.when(() => true, Script.text(Array.from({ length: 100 }, () => "slow").join(" ")))]
      })
      const base = yield* Client.start(Lm.layer("openai-compatible/sim-1", { baseUrl: `${simulator.url}/v1`, retry: false }))
      const id = yield* Client.createConversation(base)
      const url = `${base}/api/conversations/${id}/messages`
      const first = yield* Client.openStreamUntilFirstToken(url, "one")
      const second = yield* Client.post(url, { message: "two" })
      assert.strictEqual(second.status, 409)
      assert.strictEqual(errorOf(second.text).error, "ConversationBusy")
      first.destroy()
      yield* Client.eventually(simulator.counters, (c) => c.inFlight === 0)
    }))

  it.scopedLive("an event stream: one per conversation, turns asked with ?via=events stream on it, delete ends it", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(inProcessModel)
      const id = yield* Client.createConversation(base)
      const url = `${base}/api/conversations/${id}/messages?via=events`
      const none = yield* Client.post(url, { message: "hi" })
      assert.strictEqual(none.status, 409)
      assert.strictEqual(errorOf(none.text).error, "NoEventStream")
      // the stream: read until its first turn is done, keeping the connection open
      let text = ""
      let ended = false
      const request = Http.request(`${base}/api/conversations/${id}/events`, (res) => {
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => (ended = true))
      })
      request.on("error", () => {})
      request.end()
      yield* Effect.addFinalizer(() => Effect.sync(() => request.destroy()))
      yield* Client.eventually(Effect.sync(() => text), (t) => t.startsWith("event: open"))
      const second = yield* Effect.promise(() => fetch(`${base}/api/conversations/${id}/events`))
      assert.strictEqual(second.status, 409)
      assert.strictEqual(((yield* Effect.promise(() => second.json())) as { error: string }).error, "EventStreamOpen")
      const asked = yield* Client.post(url, { message: "What is a flat white?" })
      assert.strictEqual(asked.status, 202)
      yield* Client.eventually(Effect.sync(() => text), (t) => t.includes("event: done"))
      const tokens = text.split("\n\n").filter((b) => b.startsWith("event: token"))
      assert.strictEqual(tokens.map((t) => (JSON.parse(t.split("\ndata: ")[1]!) as { delta: string }).delta).join(""), answer)
      // a second turn on the same stream
      assert.strictEqual((yield* Client.post(url, { message: "And a cortado?" })).status, 202)
      yield* Client.eventually(Effect.sync(() => text.split("event: done").length - 1), (n) => n === 2)
      assert.isFalse(ended)
      const s = yield* stats(base)
      assert.strictEqual(s.openEventStreams, 1)
      assert.strictEqual(s.completedStreams, 2)
      // deleting the conversation ends its stream
      yield* Effect.promise(() => fetch(`${base}/api/conversations/${id}`, { method: "DELETE" }))
      yield* Client.eventually(Effect.sync(() => ended), (e) => e)
      yield* Client.eventually(stats(base), (x) => x.openEventStreams === 0)
    }))
})

/** Opens `GET …/events` and gathers its raw text as it arrives, keeping the connection open. */
const openEvents = (url: string) =>
  Effect.gen(function*() {
    const seen = { text: "" }
    const request = Http.request(url, (res) => {
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (seen.text += chunk))
    })
    request.on("error", () => {})
    request.end()
    yield* Effect.addFinalizer(() => Effect.sync(() => request.destroy()))
    yield* Client.eventually(Effect.sync(() => seen.text), (t) => t.startsWith("event: open"))
    return seen
  })

const pings = (text: string) => text.split("\n\n").filter((block) => block === ": ping").length

/** A model whose streams never send a part (a turn on it stays busy until its client leaves). */
const silentModel = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () => Effect.dieMessage("the silent model only streams"),
    streamText: () => Stream.never
  })
)

describe("chat server event streams", () => {
  it.scopedLive("an idle event stream whose client leaves is forgotten, and the conversation can open another", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(inProcessModel)
      const id = yield* Client.createConversation(base)
      const url = `${base}/api/conversations/${id}/events`
      let text = ""
      const request = Http.request(url, (res) => {
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
      })
      request.on("error", () => {})
      request.end()
      yield* Client.eventually(Effect.sync(() => text), (t) => t.startsWith("event: open"))
      assert.strictEqual((yield* stats(base)).openEventStreams, 1)
      request.destroy()
      yield* Client.eventually(stats(base), (s) => s.openEventStreams === 0)
      const asked = yield* Client.post(`${base}/api/conversations/${id}/messages?via=events`, { message: "anyone?" })
      assert.strictEqual(asked.status, 409)
      assert.strictEqual(errorOf(asked.text).error, "NoEventStream")
      const again = yield* openEvents(url)
      assert.strictEqual((yield* Client.post(`${base}/api/conversations/${id}/messages?via=events`, { message: "hi" })).status, 202)
      yield* Client.eventually(Effect.sync(() => again.text), (t) => t.includes("event: done"))
    }))
})

describe("chat server heartbeats", () => {
  it.scoped("an idle open event stream gets `: ping` every interval, on the TestClock", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(inProcessModel, { heartbeatInterval: "10 seconds" })
      const id = yield* Client.createConversation(base)
      const events = yield* openEvents(`${base}/api/conversations/${id}/events`)
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* stats(base)).heartbeats, 0)
      yield* TestClock.adjust("1 second")
      yield* Client.eventually(Effect.sync(() => pings(events.text)), (n) => n === 1)
      for (const n of [2, 3]) {
        yield* TestClock.adjust("10 seconds")
        yield* Client.eventually(Effect.sync(() => pings(events.text)), (k) => k === n)
      }
      assert.strictEqual((yield* stats(base)).heartbeats, 3)
      // pings are comments: the events around them still parse as before
      assert.isTrue(events.text.startsWith("event: open\ndata: {}\n\n: ping\n\n"))
    }))

  it.scoped("a stream busy with a turn gets no ping, while an idle one does", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(silentModel, { heartbeatInterval: "10 seconds" })
      const id = yield* Client.createConversation(base)
      const events = yield* openEvents(`${base}/api/conversations/${id}/events`)
      const asked = yield* Client.post(`${base}/api/conversations/${id}/messages?via=events`, { message: "hello?" })
      assert.strictEqual(asked.status, 202)
      yield* Client.eventually(stats(base), (s) => s.activeStreams === 1)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual((yield* stats(base)).heartbeats, 0)
      assert.strictEqual(pings(events.text), 0)
      // a second conversation's idle stream is pinged meanwhile
      const other = yield* Client.createConversation(base)
      const idle = yield* openEvents(`${base}/api/conversations/${other}/events`)
      yield* TestClock.adjust("10 seconds")
      yield* Client.eventually(Effect.sync(() => pings(idle.text)), (n) => n === 1)
      assert.strictEqual(pings(events.text), 0)
    }))

  it.scoped("an infinite interval turns heartbeats off", () =>
    Effect.gen(function*() {
      const base = yield* Client.start(inProcessModel, { heartbeatInterval: Duration.infinity })
      const id = yield* Client.createConversation(base)
      const events = yield* openEvents(`${base}/api/conversations/${id}/events`)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual((yield* stats(base)).heartbeats, 0)
      assert.strictEqual(pings(events.text), 0)
    }))
})
