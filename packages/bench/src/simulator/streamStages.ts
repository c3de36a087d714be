/**
 * Where a streamed token's CPU goes, stage by stage, in one process and without a socket: an
 * in-memory HTTP client answers every chat completion with `--words` Server-Sent Events, one
 * event per body read (as a paced stream arrives: one token per socket read), and each stage
 * below is run over the same streams, `--streams` of them with `--concurrency` at once:
 *
 * - `body`: the response body only (read and decoded to text): the fake transport's own cost;
 * - `model`: `LanguageModel.streamText` of the openai-compatible provider without a timeout or
 *   retries (the body, SSE, JSON decoding, `@effect/ai`'s parts);
 * - `model+retry`: the same with the default retries but no timeout (the retry loop and its
 *   hold-back of metadata parts, without the idle timeout);
 * - `model+policy`: the same with the default retry policy (`Lm.layer`'s defaults: a per-part timeout);
 * - `predict`: `StreamPredict.tokens` of a `Predict` (ChatAdapter, field parser);
 * - `conversation`: a `Conversation` turn turned into SSE frames as the chat server writes them.
 *
 * And the floors of the same work, for the chat server's load (`examples/chat-server/load.ts`)
 * to be read against, with none of effect-dspy's code:
 *
 * - `bare`: the body read with its web stream reader, each event's JSON parsed (`JSON.parse`)
 *   and re-framed as an SSE frame, no Effect (what `examples/chat-server/floor.ts` does per read);
 * - `effect-sse`: the body as `@effect/ai`'s OpenAI client reads a stream: `Stream.decodeText`,
 *   `@effect/experimental`'s `Sse.makeChannel`, each event decoded with `Schema` (`parseJson`);
 * - `effect-turn`: `effect-sse` made into SSE frames in a turn's fiber and handed over a `Mailbox`
 *   to the reader, encoded (what `examples/chat-server/effectFloor.ts` does per token, minus the
 *   sockets).
 *
 * The difference between two rows is that stage's CPU per token. Prints figures, asserts nothing.
 *
 *   pnpm exec tsx packages/bench/src/simulator/streamStages.ts [--streams 2000] [--words 100]
 *     [--concurrency 100] [--rounds 3] [--stages body,model,...]
 */
import { Conversation, Predict, Signature, StreamPredict } from "@effect-dspy/core"
import * as Sse from "@effect/experimental/Sse"
import { Lm } from "@effect-dspy/providers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { parseArgs } from "node:util"
import * as Os from "node:os"

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "2000" },
    words: { type: "string", default: "100" },
    concurrency: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    stages: {
      type: "string",
      default: "bare,body,effect-sse,effect-turn,model,model+retry,model+policy,predict,conversation"
    }
  }
})
const STREAMS = Number(values.streams)
const WORDS = Number(values.words)
const CONCURRENCY = Number(values.concurrency)
const ROUNDS = Number(values.rounds)
const STAGES = values.stages.split(",")

const encoder = new TextEncoder()
const event = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`)
const chunkOf = (delta: Record<string, unknown>, finish: string | null) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "sim-1",
  choices: [{ index: 0, delta, finish_reason: finish }]
})
// The events of one answer: a role, then one word per event, the finish, usage, [DONE]
const answerEvents: ReadonlyArray<Uint8Array> = [
  event(chunkOf({ role: "assistant", content: "" }, null)),
  // (the answer as the ChatAdapter reads it: its field marker, then words, then the end marker)
  ...Array.from({ length: WORDS }, (_, i) =>
    event(chunkOf({
      content: i === 0 ? "[[ ## answer ## ]]\nFibers" : i === WORDS - 1 ? ` word${i}\n\n[[ ## completed ## ]]` : ` word${i}`
    }, null))),
  event(chunkOf({}, "stop")),
  event({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "sim-1", choices: [], usage: { prompt_tokens: 20, completion_tokens: WORDS, total_tokens: 20 + WORDS } }),
  encoder.encode("data: [DONE]\n\n")
]

/** The answer's events as a body, one event per read. */
const answerBody = () => {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < answerEvents.length) controller.enqueue(answerEvents[i++]!)
      else controller.close()
    }
  }, { highWaterMark: 0 })
}

/** An HTTP client answering every request with the answer's events, one event per body read. */
const fakeHttp = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) =>
    Effect.sync(() =>
      HttpClientResponse.fromWeb(request, new Response(answerBody(), { headers: { "content-type": "text/event-stream" } }))
    )
  )
)

/** The bare floor: reads the body and frames each token without Effect; resolves to the bytes framed. */
const bareTurn = async (): Promise<number> => {
  const reader = answerBody().getReader()
  const decoder = new TextDecoder()
  let pending = ""
  let reply = ""
  let bytes = 0
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const all = pending + decoder.decode(read.value, { stream: true })
    let out = ""
    let pos = 0
    for (let end = all.indexOf("\n\n", pos); end !== -1; end = all.indexOf("\n\n", pos)) {
      const data = all.slice(pos + 6, end)
      pos = end + 2
      if (data === "[DONE]") continue
      const delta = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content
      if (typeof delta === "string" && delta !== "") {
        reply += delta
        out += frame("token", { delta })
      }
    }
    pending = all.slice(pos)
    if (out !== "") bytes += encoder.encode(out).length
  }
  return bytes + encoder.encode(frame("done", { reply })).length
}

/** A chat-completions stream chunk: what the Effect floor reads of it. */
const CompletionChunk = Schema.Struct({
  choices: Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) }))
  }))
})
const decodeCompletionChunk = Schema.decode(Schema.parseJson(CompletionChunk))

/** The Effect floor of `model`: the body read as `@effect/ai`'s OpenAI client reads a stream. */
const effectChunks = Effect.map(HttpClient.HttpClient, (http) =>
  http.get("http://sim.invalid/v1").pipe(
    Effect.map((response) => response.stream),
    Stream.unwrapScoped,
    Stream.decodeText(),
    Stream.pipeThroughChannel(Sse.makeChannel()),
    Stream.takeWhile((event) => event.data !== "[DONE]"),
    Stream.mapEffect((event) => decodeCompletionChunk(event.data))
  ))

/** The Effect floor of a chat server's turn: frames made in the turn's fiber, handed over a `Mailbox`. */
const effectTurn = Effect.gen(function*() {
  const chunks = yield* effectChunks
  const frames = chunks.pipe(
    Stream.filterMap((chunk) => {
      const delta = chunk.choices[0]?.delta?.content
      return delta == null || delta === "" ? Option.none() : Option.some(frame("token", { delta }))
    })
  )
  const mailbox = yield* Mailbox.make<string, unknown>({ capacity: 64 })
  yield* Effect.forkScoped(Mailbox.into(Stream.runForEachChunk(frames, (chunk) => mailbox.offerAll(chunk)), mailbox))
  return yield* Mailbox.toStream(mailbox).pipe(Stream.encodeText, Stream.runFold(0, (bytes, b) => bytes + b.length))
})

type Policy = "none" | "retry" | "default"

const model = (policy: Policy) =>
  Lm.layer("openai-compatible/sim-1", {
    baseUrl: "http://sim.invalid/v1",
    httpClient: fakeHttp,
    ...(policy === "none"
      ? { retry: { maxRetries: 0, timeout: undefined } }
      : policy === "retry"
      ? { retry: { timeout: undefined } }
      : {})
  })

const Chat = Signature.fromString("question -> answer")
const qa = Predict.make(Chat)

const frame = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

/** One stream of the stage; resolves to the tokens it saw. */
const stages: Record<string, { readonly policy: Policy; readonly one: (i: number) => Effect.Effect<number, unknown, LanguageModel.LanguageModel> }> = {
  bare: { policy: "none", one: () => Effect.promise(bareTurn) },
  "effect-sse": {
    policy: "none",
    one: () => Effect.flatMap(effectChunks, Stream.runCount).pipe(Effect.provide(fakeHttp))
  },
  "effect-turn": { policy: "none", one: () => Effect.scoped(effectTurn).pipe(Effect.provide(fakeHttp)) },
  body: {
    policy: "none",
    one: () =>
      Effect.flatMap(HttpClient.HttpClient, (http) =>
        http.get("http://sim.invalid/v1").pipe(
          Effect.map((response) => response.stream),
          Stream.unwrapScoped,
          Stream.decodeText(),
          Stream.runCount
        )).pipe(Effect.provide(fakeHttp))
  },
  model: {
    policy: "none",
    one: () => Stream.runCount(LanguageModel.streamText({ prompt: "Why?" }))
  },
  "model+retry": {
    policy: "retry",
    one: () => Stream.runCount(LanguageModel.streamText({ prompt: "Why?" }))
  },
  "model+policy": {
    policy: "default",
    one: () => Stream.runCount(LanguageModel.streamText({ prompt: "Why?" }))
  },
  predict: {
    policy: "default",
    one: (i) => Stream.runCount(StreamPredict.tokens(StreamPredict.stream(qa, { question: `Why ${i}?` })))
  },
  conversation: {
    policy: "default",
    one: (i) =>
      Effect.scoped(Effect.gen(function*() {
        const chat = yield* Conversation.make({ system: "Be brief." })
        const events = yield* chat.start(`Question ${i}`)
        let bytes = 0
        yield* Stream.runForEachChunk(events, (chunk: Chunk.Chunk<StreamPredict.StreamEvent<Conversation.Reply>>) =>
          Effect.sync(() => {
            let text = ""
            for (const e of chunk) {
              if (e._tag === "TokenDelta") text += frame("token", { delta: e.delta })
              else if (e._tag === "Final") text += frame("done", { reply: e.prediction.output.reply, usage: e.prediction.usage })
            }
            if (text !== "") bytes += encoder.encode(text).length
          }))
        return bytes
      }))
  }
}

const cpuMicros = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

const main = async () => {
  console.log(
    `stream stages: ${STREAMS} streams of ${WORDS} tokens, ${CONCURRENCY} at once, ${ROUNDS} rounds (median); ` +
      `${Os.cpus().length} cores, load ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`
  )
  const runtimes = {
    none: ManagedRuntime.make(model("none")),
    retry: ManagedRuntime.make(model("retry")),
    default: ManagedRuntime.make(model("default"))
  }
  const results = new Map<string, Array<number>>()
  const run = async (name: string, n: number) => {
    const stage = stages[name]!
    const start = cpuMicros()
    await runtimes[stage.policy].runPromise(
      Effect.forEach(Array.from({ length: n }, (_, i) => i), stage.one, { concurrency: CONCURRENCY, discard: true })
    )
    return (cpuMicros() - start) / (n * WORDS)
  }
  for (const name of STAGES) {
    if (stages[name] === undefined) throw new Error(`unknown stage ${name}; known: ${Object.keys(stages).join(", ")}`)
    await run(name, Math.min(STREAMS, 500)) // warm-up
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of STAGES) {
      const perToken = await run(name, STREAMS)
      results.set(name, [...(results.get(name) ?? []), perToken])
    }
  }
  for (const name of STAGES) {
    const sorted = [...results.get(name)!].sort((a, b) => a - b)
    console.log(`  ${name.padEnd(14)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1).padStart(7)} µs CPU per token  (rounds ${results.get(name)!.map((x) => x.toFixed(1)).join(", ")})`)
  }
  console.log(`load after: ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  await Promise.all([runtimes.none.dispose(), runtimes.retry.dispose(), runtimes.default.dispose()])
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e)
  process.exit(1)
})
