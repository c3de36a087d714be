import type * as Prompt from "@effect/ai/Prompt"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, FastCheck, Fiber, Option, Schema, Stream, TestClock } from "effect"
import { Conversation, type DspyEvent, EventBus, Predict, Signature, StreamPredict } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"
import * as StreamingLm from "./utils/StreamingLm.js"

/** The role and text of every message of a prompt. */
const transcript = (prompt: Prompt.Prompt): Array<string> =>
  prompt.content.map((m) =>
    `${m.role}: ${
      m.role === "system" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("")
    }`
  )

const runTurn = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Stream.runCollect(stream))
    yield* TestClock.adjust("1 minute")
    return Chunk.toReadonlyArray(yield* Fiber.join(fiber))
  })

const echo = StreamingLm.make((prompt, call) => `Reply ${call} to: ${ScriptedLm.lastUserText(prompt)}`, { perTokenMillis: 10 })

describe("Conversation", () => {
  it.scoped("turns are named after the conversation's name (Conversation by default), each conversation its own history", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make
      const starts: Array<string> = []
      yield* Effect.provideService(
        EventBus.on("module.start", (e: DspyEvent.DspyEvent) => Effect.sync(() => e.type === "module.start" && starts.push(e.module))),
        EventBus.EventBus,
        bus
      )
      const plain = yield* Conversation.make()
      const other = yield* Conversation.make()
      const named = yield* Conversation.make({ name: "Support" })
      for (const [chat, message] of [[plain, "one"], [other, "two"], [named, "three"]] as const) {
        yield* runTurn(chat.ask(message)).pipe(Effect.provide(echo.layer), Effect.provideService(EventBus.EventBus, bus))
      }
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(starts, ["Conversation", "Conversation", "Support"])
      assert.deepStrictEqual(transcript(yield* other.history), ["user: two", "assistant: Reply 2 to: two"])
    }))

  it.effect("streams the reply, then appends the turn to the history", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make((prompt, call) => `Reply ${call} to: ${ScriptedLm.lastUserText(prompt)}`, {
        perTokenMillis: 10
      })
      const chat = yield* Conversation.make({ system: "Be brief." })
      const first = yield* runTurn(chat.ask("Hello there")).pipe(Effect.provide(lm.layer))
      assert.strictEqual(StreamPredict.isTokenDelta(first[0]!), true)
      assert.isTrue(first.filter(StreamPredict.isTokenDelta).length > 2)
      const last = first[first.length - 1]!
      assert.isTrue(StreamPredict.isFinal(last) && last.prediction.output.reply === "Reply 1 to: Hello there")
      yield* runTurn(chat.ask("And again")).pipe(Effect.provide(lm.layer))
      // the second call saw the whole first turn
      assert.deepStrictEqual(transcript(lm.counters.prompts[1]!), [
        "system: Be brief.",
        "user: Hello there",
        "assistant: Reply 1 to: Hello there",
        "user: And again"
      ])
      assert.deepStrictEqual(transcript(yield* chat.history), [
        "system: Be brief.",
        "user: Hello there",
        "assistant: Reply 1 to: Hello there",
        "user: And again",
        "assistant: Reply 2 to: And again"
      ])
    }))

  it.effect("an interrupted turn leaves the history unchanged and stops the upstream stream", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => "a long answer that keeps going and going", { perTokenMillis: 100 })
      const chat = yield* Conversation.make()
      const fiber = yield* chat.ask("Hi").pipe(Stream.runDrain, Effect.provide(lm.layer), Effect.fork)
      yield* TestClock.adjust("250 millis")
      assert.isTrue(yield* chat.busy)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(lm.counters.interrupted, 1)
      assert.strictEqual((yield* chat.history).content.length, 0)
      assert.isFalse(yield* chat.busy)
    }))

  it.effect("a consumer that stops at the final event still gets the turn appended", () =>
    Effect.gen(function*() {
      const chat = yield* Conversation.make()
      const events = yield* runTurn(chat.ask("Hi").pipe(Stream.takeUntil(StreamPredict.isFinal))).pipe(
        Effect.provide(echo.layer)
      )
      assert.isTrue(StreamPredict.isFinal(events[events.length - 1]!))
      assert.deepStrictEqual(transcript(yield* chat.history), ["user: Hi", `assistant: Reply ${echo.counters.calls} to: Hi`])
      assert.isFalse(yield* chat.busy)
    }))

  it.effect("turns run one at a time; ifBusy: fail refuses a second turn", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make((prompt) => `echo ${ScriptedLm.lastUserText(prompt)}`, { perTokenMillis: 50 })
      const chat = yield* Conversation.make()
      const a = yield* chat.ask("one").pipe(Stream.runDrain, Effect.provide(lm.layer), Effect.fork)
      yield* TestClock.adjust("10 millis")
      const refused = yield* Effect.exit(Stream.runDrain(chat.ask("two", { ifBusy: "fail" }))).pipe(Effect.provide(lm.layer))
      assert.isTrue(Exit.isFailure(refused))
      if (Exit.isFailure(refused)) {
        const error = Option.getOrUndefined(Exit.causeOption(refused).pipe(Option.flatMap((c) => c._tag === "Fail" ? Option.some(c.error) : Option.none())))
        assert.strictEqual(error?._tag, "ConversationBusy")
      }
      const b = yield* chat.ask("three").pipe(Stream.runDrain, Effect.provide(lm.layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      assert.strictEqual(lm.counters.maxOpen, 1)
      assert.deepStrictEqual(transcript(yield* chat.history), [
        "user: one",
        "assistant: echo one",
        "user: three",
        "assistant: echo three"
      ])
    }))

  it.effect("conversations are independent values", () =>
    Effect.gen(function*() {
      const a = yield* Conversation.make()
      const b = yield* Conversation.make()
      yield* runTurn(a.ask("only in a")).pipe(Effect.provide(echo.layer))
      assert.strictEqual((yield* a.history).content.length, 2)
      assert.strictEqual((yield* b.history).content.length, 0)
    }))

  it.effect("runs a signature-based module per turn, with the history rendered into an input", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make((_prompt, call) => ScriptedLm.reply({ answer: `answer ${call}` }))
      const Assistant = Signature.fromString("history, question -> answer")
      const assistant = Predict.make(Assistant)
      const chat = yield* Conversation.make()
      const turn = (question: string) =>
        chat.askWith(assistant, {
          message: question,
          input: (history) => ({ history, question }),
          reply: (output) => output.answer
        })
      const events = yield* runTurn(turn("What is tea?")).pipe(Effect.provide(lm.layer))
      assert.isTrue(events.some((e) => StreamPredict.isFieldDelta(e) && e.field === "answer"))
      yield* runTurn(turn("And coffee?")).pipe(Effect.provide(lm.layer))
      const inputs = ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[1]!))
      assert.strictEqual(inputs["history"], "User: What is tea?\n\nAssistant: answer 1")
      assert.strictEqual(inputs["question"], "And coffee?")
      assert.strictEqual(Conversation.renderHistory(yield* chat.history).split("\n\n").length, 4)
    }))

  it.effect("keeps at most maxMessages messages besides the system message", () =>
    Effect.gen(function*() {
      const chat = yield* Conversation.make({ system: "sys", maxMessages: 2 })
      for (const message of ["a", "b", "c"]) yield* runTurn(chat.ask(message)).pipe(Effect.provide(echo.layer))
      const lines = transcript(yield* chat.history)
      assert.strictEqual(lines.length, 3)
      assert.strictEqual(lines[0], "system: sys")
      assert.strictEqual(lines[1], "user: c")
    }))

  it.effect("exports to JSON and imports back; bad snapshots fail with InvalidConversation", () =>
    Effect.gen(function*() {
      const chat = yield* Conversation.make({ system: "sys" })
      yield* runTurn(chat.ask("hello")).pipe(Effect.provide(echo.layer))
      const json = yield* chat.toJson
      const copy = yield* Conversation.fromJson(json)
      assert.deepStrictEqual(transcript(yield* copy.history), transcript(yield* chat.history))
      for (const bad of ["not json", "{}", JSON.stringify({ version: 2, history: { content: [] } })]) {
        const result = yield* Effect.either(Conversation.fromJson(bad))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidConversation", bad)
      }
      const wrongRole = { version: 1, history: { content: [{ role: "wizard", content: "x" }] } }
      assert.isTrue(Either.isLeft(yield* Effect.either(Conversation.fromSnapshot(wrongRole))))
    }))

  it.effect.prop(
    "a snapshot round-trips through JSON",
    [FastCheck.option(FastCheck.string()), FastCheck.array(FastCheck.tuple(FastCheck.string(), FastCheck.string()), { maxLength: 5 })],
    ([system, turns]) =>
      Effect.gen(function*() {
        const history = {
          version: 1 as const,
          history: {
            content: [
              ...(system === null ? [] : [{ role: "system" as const, content: system }]),
              ...turns.flatMap(([user, assistant]) => [
                { role: "user" as const, content: [{ type: "text" as const, text: user }] },
                { role: "assistant" as const, content: [{ type: "text" as const, text: assistant }] }
              ])
            ]
          }
        }
        const decoded = yield* Schema.decodeUnknown(Conversation.Snapshot)(history)
        const chat = yield* Conversation.fromSnapshot(history)
        const back = yield* Conversation.fromJson(yield* chat.toJson)
        assert.deepStrictEqual(transcript(yield* back.history), transcript(decoded.history))
      }),
    { fastCheck: { numRuns: 40 } }
  )
})
