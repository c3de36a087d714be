/**
 * The chat server at scale, over real loopback sockets, paced by `TestClock` (no wall-clock
 * waits): 2,000 conversations hold their event streams open at once, all 2,000 stream a turn at
 * the same time and each receives exactly its own reply, the streams stay open (idle) after it;
 * and clients that disconnect mid-turn free their fibers and their upstream requests (the
 * simulator's in-flight count returns to zero).
 *
 * The 2,000 streams are paced by one shared metronome on the `TestClock` (a fiber that sleeps
 * a tick, then wakes every stream waiting for it): `TestClock.adjust` wakes its sleepers one at
 * a time with a few real timer turns each, so a sleep per stream per token (as the simulator's
 * own pacing does) would cost minutes here; the metronome costs a sleep per tick.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { Script, Simulator } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Stream, TestClock } from "effect"
import * as Http from "node:http"
import type * as ChatServer from "../examples/chat-server/ChatServer.js"
import * as Client from "./utils/chatServer.js"

const CONVERSATIONS = 2_000
const TICK_MILLIS = 20

/** The reply to question `n`: distinct per conversation, several tokens long. */
const replyTo = (n: number) => `Answer ${n}: fibers hold streams while they wait.`
const TOKENS = replyTo(0).split(" ").length

const questionOf = (text: string): number | undefined => {
  const m = /question #(\d+)/.exec(text)
  return m === null ? undefined : Number(m[1])
}

/** The text of the last user message of a prompt. */
const lastUserText = (prompt: Prompt.Prompt): string => {
  for (let i = prompt.content.length - 1; i >= 0; i--) {
    const message = prompt.content[i]!
    if (message.role === "user") return message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
  }
  return ""
}

/**
 * A model whose streams answer "question #n" with `replyTo(n)`, one word per tick of a shared
 * metronome on the `Clock` (the first word one tick after the request), counting requests in
 * flight and those the client abandoned.
 */
const metronomeModel = Effect.gen(function*() {
  let ticks = 0
  let tick = yield* Deferred.make<void>()
  // waits until the metronome has ticked `target` times (a stream that comes late misses none)
  const untilTick = (target: number): Effect.Effect<void> =>
    Effect.suspend(() => (ticks >= target ? Effect.void : Effect.zipRight(Deferred.await(tick), untilTick(target))))
  yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
    yield* Effect.sleep(TICK_MILLIS)
    const ticked = tick
    tick = yield* Deferred.make<void>()
    ticks++
    yield* Deferred.succeed(ticked, undefined)
  })))
  const counts = { inFlight: 0, aborted: 0 }
  const service = yield* LanguageModel.make({
    generateText: () => Effect.dieMessage("the metronome model only streams"),
    streamText: (options) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        let finished = false
        yield* Effect.acquireRelease(
          Effect.sync(() => counts.inFlight++),
          () => Effect.sync(() => {
            counts.inFlight--
            if (!finished) counts.aborted++
          })
        )
        const n = questionOf(lastUserText(options.prompt))
        if (n === undefined) return yield* Effect.dieMessage("no question number in the prompt")
        const words = replyTo(n).split(" ")
        const start = ticks
        // one word per chunk: `mapEffect` emits a chunk once all of its elements are mapped
        const deltas = Stream.fromIterable(words.map((word, i) => [word, i] as const)).pipe(
          Stream.rechunk(1),
          Stream.mapEffect(([word, i]) =>
            Effect.as(untilTick(start + i + 1), { type: "text-delta", id: "t", delta: i === 0 ? word : ` ${word}` } as const)
          )
        )
        const end: ReadonlyArray<Response.StreamPartEncoded> = [
          { type: "text-end", id: "t" },
          { type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: words.length, totalTokens: 10 + words.length } }
        ]
        return Stream.make<Array<Response.StreamPartEncoded>>({ type: "text-start", id: "t" }).pipe(
          Stream.concat(deltas),
          Stream.concat(Stream.fromIterable(end)),
          Stream.ensuring(Effect.sync(() => (finished = true)))
        )
      }))
  })
  return { service, counts }
})

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
        if (block.startsWith(":")) continue // an SSE comment (the server's heartbeat)
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


describe("chat server at scale", () => {
  it.scoped(
    "2,000 event streams open at once stream their turns together, each its own reply, and stay open",
    () =>
      Effect.gen(function*() {
        const model = yield* metronomeModel
        const base = yield* Client.start(Layer.succeed(LanguageModel.LanguageModel, model.service), {
          maxConversationsPerClient: CONVERSATIONS
        })
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
        const count = (p: (c: EventClient) => boolean) => Effect.sync(() => clients.filter(p).length)
        yield* Client.eventually(count((c) => c.opened), (n) => n === CONVERSATIONS, 60_000)
        assert.strictEqual((yield* stats).openEventStreams, CONVERSATIONS)

        // every conversation asks; each turn then waits for the metronome's first tick
        const accepted = yield* pool(CONVERSATIONS, 32, (i) =>
          request(`${base}/api/conversations/${ids[i]}/messages?via=events`, "POST", { message: `question #${i}` }))
        assert.deepStrictEqual([...new Set(accepted.map((r) => r.status))], [202])
        yield* Client.eventually(Effect.sync(() => model.counts.inFlight), (n) => n === CONVERSATIONS, 60_000)
        assert.strictEqual((yield* stats).activeStreams, CONVERSATIONS)

        // tick by tick: every stream gets its next word before any gets the one after
        for (let k = 1; k <= TOKENS; k++) {
          yield* TestClock.adjust(TICK_MILLIS)
          yield* Client.eventually(count((c) => c.deltas.length === k), (n) => n === CONVERSATIONS, 60_000)
          if (k < TOKENS) assert.strictEqual((yield* stats).activeStreams, CONVERSATIONS, `after token ${k}`)
        }
        yield* Client.eventually(count((c) => c.done.length === 1), (n) => n === CONVERSATIONS, 60_000)
        clients.forEach((client, i) => {
          assert.deepStrictEqual(client.errors, [], `conversation ${i}`)
          assert.strictEqual(client.deltas.join(""), replyTo(i), `conversation ${i}`)
          assert.deepStrictEqual(client.done, [replyTo(i)], `conversation ${i}`)
        })
        const after = yield* Client.eventually(stats, (s) => s.activeStreams === 0)
        assert.strictEqual(after.completedStreams, CONVERSATIONS)
        assert.strictEqual(after.maxActiveStreams, CONVERSATIONS)
        assert.strictEqual(model.counts.inFlight, 0)
        // the streams stay open, idle, after the turn
        assert.strictEqual(after.openEventStreams, CONVERSATIONS)
        assert.isTrue(clients.every((c) => !c.closed))
      }),
    120_000
  )

  it.scoped("clients that disconnect mid-turn free their fibers and upstream requests (simulator in flight: 0)", () =>
    Effect.gen(function*() {
      const n = 200
      const simulator = yield* Simulator.makeInstance({
        timeToFirstTokenMillis: 1_000,
        tokensPerSecond: 10,
        script: [(request) => {
          const i = questionOf(request.lastUserText)
          return i === undefined ? undefined : Script.text(replyTo(i))
        }]
      })
      const base = yield* Client.start(Layer.succeed(LanguageModel.LanguageModel, simulator.languageModel), {
        maxConversationsPerClient: n
      })
      const stats = Effect.promise(async () =>
        JSON.parse((await request(`${base}/admin/stats`, "GET")).text) as ChatServer.Stats
      )
      const ids = yield* pool(n, 32, async () =>
        (JSON.parse((await request(`${base}/api/conversations`, "POST")).text) as { id: string }).id)
      const clients = ids.map((id) => openEvents(`${base}/api/conversations/${id}/events`))
      yield* Effect.addFinalizer(() => Effect.sync(() => clients.forEach((c) => c.request.destroy())))
      yield* Client.eventually(Effect.sync(() => clients.filter((c) => c.opened).length), (k) => k === n)
      yield* pool(n, 32, (i) =>
        request(`${base}/api/conversations/${ids[i]}/messages?via=events`, "POST", { message: `question #${i}` }))
      // every turn is mid-answer (a few tokens in) when its client goes away
      yield* Client.eventually(simulator.counters, (c) => c.inFlight === n)
      yield* TestClock.adjust(1_200)
      yield* Client.eventually(Effect.sync(() => clients.filter((c) => c.deltas.length > 0).length), (k) => k === n)
      clients.forEach((c) => c.request.destroy())
      const freed = yield* Client.eventually(simulator.counters, (c) => c.inFlight === 0)
      assert.strictEqual(freed.abortedByClient, n)
      assert.strictEqual(freed.completed, 0)
      const s = yield* Client.eventually(stats, (x) => x.openEventStreams === 0 && x.activeStreams === 0)
      assert.strictEqual(s.abortedStreams, n)
      assert.strictEqual(s.completedStreams, 0)
      // an interrupted turn leaves the history unchanged
      const history = (yield* Client.getJson(`${base}/api/conversations/${ids[0]}`)) as {
        history: { content: Array<unknown> }
      }
      assert.strictEqual(history.history.content.length, 0)
    }), 60_000)
})
