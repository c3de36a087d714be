/**
 * The chat server at scale, over real loopback sockets, paced by `TestClock` (no wall-clock
 * waits): 2,000 conversations hold their event streams open at once, all 2,000 stream a turn at
 * the same time and each receives exactly its own reply, the streams stay open (idle) after it,
 * and clients that disconnect mid-turn free their fibers and their upstream requests (the
 * simulator's in-flight count returns to zero).
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Script, Simulator } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as Http from "node:http"
import type * as ChatServer from "../examples/chat-server/ChatServer.js"
import * as Client from "./utils/chatServer.js"

const CONVERSATIONS = Number(process.env["SCALE_N"] ?? 2_000)
const TTFT_MILLIS = 500
const TOKENS_PER_SECOND = Number(process.env["SCALE_TPS"] ?? 10)

/** The reply to question `n`: distinct per conversation, several tokens long. */
const replyTo = (n: number) => `Answer ${n}: fibers hold streams while they wait.`

/** Answers "question #n" with `replyTo(n)`; the number is read from the last user message. */
const script = [
  (request: Script.ParsedRequest) => {
    const m = /question #(\d+)/.exec(request.lastUserText)
    return m === null ? undefined : Script.text(replyTo(Number(m[1])))
  }
]

/** One client's open event stream, parsed as it arrives. */
interface EventClient {
  readonly request: Http.ClientRequest
  opened: boolean
  closed: boolean
  deltas: Array<string>
  done: Array<string>
  errors: Array<string>
}

const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })
const streamAgent = new Http.Agent({ keepAlive: false, maxSockets: Infinity })

/** A short request over the keep-alive agent; resolves with status and body. */
const request = (url: string, method: string, body?: unknown): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = Http.request(url, {
      method,
      agent,
      headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on("error", reject)
    req.end(payload)
  })

/** Opens `GET …/events` and parses its SSE events into the returned client as they arrive. */
const openEvents = (url: string): EventClient => {
  let buffer = ""
  const request = Http.request(url, { agent: streamAgent })
  const client: EventClient = { request, opened: false, closed: false, deltas: [], done: [], errors: [] }
  request.on("response", (res) => {
    res.setEncoding("utf8")
    res.on("data", (chunk: string) => {
      buffer += chunk
      let end = buffer.indexOf("\n\n")
      while (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf("\n\n")
        const [head, data] = block.split("\ndata: ")
        const body = JSON.parse(data ?? "null") as { delta?: string; reply?: string; error?: string }
        switch (head) {
          case "event: open":
            client.opened = true
            break
          case "event: token":
            client.deltas.push(body.delta ?? "")
            break
          case "event: done":
            client.done.push(body.reply ?? "")
            break
          default:
            client.errors.push(block)
        }
      }
    })
    res.on("close", () => (client.closed = true))
    res.on("error", () => {})
  })
  request.on("error", () => (client.closed = true))
  request.end()
  return client
}

/** Runs `task` for 0..n-1 with at most `concurrency` at once. */
const pool = <A>(n: number, concurrency: number, task: (i: number) => Promise<A>): Effect.Effect<Array<A>> =>
  Effect.promise(async () => {
    const out = new Array<A>(n)
    let next = 0
    const worker = async () => {
      while (next < n) {
        const i = next++
        out[i] = await task(i)
      }
    }
    await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker))
    return out
  })

/** Lets sockets move: yields to the event loop without a timer (see `Client.eventually`). */
const settle = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

describe("chat server at scale", () => {
  it.scoped(
    "2,000 event streams open at once stream their turns together, each its own reply; disconnects free fibers and upstream requests",
    () =>
      Effect.gen(function*() {
        const simulator = yield* Simulator.makeInstance({
          timeToFirstTokenMillis: TTFT_MILLIS,
          tokensPerSecond: TOKENS_PER_SECOND,
          script
        })
        const model = Layer.succeed(LanguageModel.LanguageModel, simulator.languageModel)
        const base = yield* Client.start(model, { maxConversationsPerClient: CONVERSATIONS })
        console.log("DBG 129", Date.now())
        const stats = Effect.promise(async () =>
          JSON.parse((await request(`${base}/admin/stats`, "GET")).text) as ChatServer.Stats
        )
        const ids = yield* pool(CONVERSATIONS, 32, async () => {
          const r = await request(`${base}/api/conversations`, "POST")
          assert.strictEqual(r.status, 201, r.text)
          return (JSON.parse(r.text) as { id: string }).id
        })
        const clients = ids.map((id) => openEvents(`${base}/api/conversations/${id}/events`))
        yield* Effect.addFinalizer(() => Effect.sync(() => clients.forEach((c) => c.request.destroy())))
        console.log("DBG 139", Date.now())
        yield* Client.eventually(Effect.sync(() => clients.filter((c) => c.opened).length), (n) => n === CONVERSATIONS, 25_000)
        console.log("DBG 140", Date.now())
        assert.strictEqual((yield* stats).openEventStreams, CONVERSATIONS)

        // every conversation asks; each turn waits for its first token on the TestClock
        const accepted = yield* pool(CONVERSATIONS, 32, (i) =>
          request(`${base}/api/conversations/${ids[i]}/messages?via=events`, "POST", { message: `question #${i}` }))
        assert.deepStrictEqual([...new Set(accepted.map((r) => r.status))], [202])
        yield* Client.eventually(simulator.counters, (c) => c.inFlight === CONVERSATIONS, 25_000)
        console.log("DBG 147", Date.now())
        const during = yield* stats
        assert.strictEqual(during.activeStreams, CONVERSATIONS)
        assert.strictEqual(during.openEventStreams, CONVERSATIONS)

        // the first token of every turn, and not yet the end of any
        yield* TestClock.adjust(TTFT_MILLIS)
        console.log("DBG 153", Date.now())
        yield* Client.eventually(
          Effect.sync(() => clients.filter((c) => c.deltas.length > 0).length),
          (n) => n === CONVERSATIONS,
          25_000
        )
        assert.strictEqual(clients.filter((c) => c.done.length > 0).length, 0)
        assert.strictEqual((yield* stats).activeStreams, CONVERSATIONS)

        // the rest, a token interval at a time
        for (let step = 0; step < 40 && clients.some((c) => c.done.length === 0); step++) {
          yield* TestClock.adjust(1000 / TOKENS_PER_SECOND)
          for (let k = 0; k < 20; k++) yield* settle
        }
        yield* Client.eventually(
          Effect.sync(() => clients.filter((c) => c.done.length === 1).length),
          (n) => n === CONVERSATIONS,
          25_000
        )
        clients.forEach((client, i) => {
          assert.deepStrictEqual(client.errors, [], `conversation ${i}`)
          assert.strictEqual(client.deltas.join(""), replyTo(i), `conversation ${i}`)
          assert.deepStrictEqual(client.done, [replyTo(i)], `conversation ${i}`)
        })
        const after = yield* Client.eventually(stats, (s) => s.activeStreams === 0)
        console.log("DBG 177", Date.now())
        assert.strictEqual(after.completedStreams, CONVERSATIONS)
        assert.strictEqual(after.maxActiveStreams, CONVERSATIONS)
        // the streams stay open, idle, after the turn
        assert.strictEqual(after.openEventStreams, CONVERSATIONS)
        assert.isTrue(clients.every((c) => !c.closed))
        assert.strictEqual((yield* simulator.counters).inFlight, 0)

        // 200 clients ask again and go away while their turns wait for the model
        const leaving = clients.slice(0, 200)
        const again = yield* pool(leaving.length, 32, (i) =>
          request(`${base}/api/conversations/${ids[i]}/messages?via=events`, "POST", { message: `question #${i}` }))
        assert.deepStrictEqual([...new Set(again.map((r) => `${r.status} ${r.text}`))], ["202 {\"accepted\":true}"])
        yield* Client.eventually(simulator.counters, (c) => c.inFlight === leaving.length, 25_000)
        console.log("DBG 189", Date.now())
        leaving.forEach((c) => c.request.destroy())
        const freed = yield* Client.eventually(simulator.counters, (c) => c.inFlight === 0, 25_000)
        console.log("DBG 191", Date.now())
        assert.strictEqual(freed.abortedByClient, leaving.length)
        const left = yield* Client.eventually(stats, (s) => s.openEventStreams === CONVERSATIONS - leaving.length)
        console.log("DBG 193", Date.now())
        assert.strictEqual(left.activeStreams, 0)
        assert.strictEqual(left.abortedStreams, leaving.length)
        // the interrupted turns left their history as it was: one exchange each
        const history = (yield* Client.getJson(`${base}/api/conversations/${ids[0]}`)) as {
          history: { content: Array<unknown> }
        }
        assert.strictEqual(history.history.content.length, 2)
      }),
    Number(process.env["SCALE_TIMEOUT"] ?? 60_000)
  )
})
