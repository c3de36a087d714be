import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, Schema, Stream } from "effect"
import { Adapter, ChatAdapter, JsonAdapter, Predict, Signature, StreamPredict } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"
import * as StreamingLm from "./utils/StreamingLm.js"

const Route = Signature.make("Route", {
  instructions: "Route a support ticket.",
  input: { ticket: Schema.String },
  output: {
    team: Schema.Literal("billing", "tech", "sales"),
    confidence: Schema.Number.pipe(Schema.between(0, 1)),
    note: Schema.NullOr(Schema.String)
  }
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("reading replies through Predict", () => {
  it.effect("records each accepted near-miss on the prediction's trace", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "[[ ## team ## ]]\nBilling\n\n[[ ## confidence ## ]]\n0.9 (fairly sure)\n\n[[ ## completed ## ]]")
      const exit = yield* Effect.exit(Predict.make(Route)({ ticket: "charged twice" }).pipe(Effect.provide(lm.layer)))
      // "0.9 (fairly sure)" is not a number with a unit: the Schema says so, and the re-ask follows
      assert.isTrue(Exit.isFailure(exit))
      const good = ScriptedLm.make(() => "[[ ## team ## ]]\nBilling\n\n[[ ## confidence ## ]]\n0.9 points\n\n[[ ## completed ## ]]")
      const prediction = yield* Predict.make(Route)({ ticket: "charged twice" }).pipe(Effect.provide(good.layer))
      assert.deepStrictEqual(prediction.output, { team: "billing", confidence: 0.9, note: null })
      assert.strictEqual(good.counters.calls, 1)
      assert.deepStrictEqual(prediction.trace[0]?.nearMisses, [
        { field: "team", path: [], kind: "literal-case", raw: "Billing", accepted: "billing" },
        { field: "confidence", path: [], kind: "number-unit", raw: "0.9 points", accepted: 0.9 },
        { field: "note", path: [], kind: "absent-null", raw: "", accepted: null }
      ])
    }))

  it.effect("a reply written as JSON under the chat format is read by the JSON adapter, in one call", () =>
    Effect.gen(function*() {
      const reply = "```json\n{\"team\": \"tech\", \"confidence\": 0.5, \"note\": null}\n```"
      const lm = ScriptedLm.make(() => reply)
      const prediction = yield* Predict.make(Route)({ ticket: "app crashes" }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(prediction.output, { team: "tech", confidence: 0.5, note: null })
      assert.strictEqual(lm.counters.calls, 1)
      assert.deepStrictEqual(prediction.trace[0]?.nearMisses.map((m) => m.kind), ["fallback-format", "fenced"])
      assert.strictEqual(prediction.trace[0]?.nearMisses[0]?.raw, reply)
    }))

  it.effect("after an unreadable reply, the re-ask goes through the JSON adapter and names the problem", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) =>
        call === 1 ? "The team is billing, I think." : "{\"team\": \"billing\", \"confidence\": 0.8, \"note\": \"refund\"}"
      )
      const prediction = yield* Predict.make(Route)({ ticket: "charged twice" }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(prediction.output, { team: "billing", confidence: 0.8, note: "refund" })
      assert.strictEqual(lm.counters.calls, 2)
      assert.include(ScriptedLm.systemText(lm.counters.prompts[0]!), "[[ ## team ## ]]")
      assert.include(ScriptedLm.systemText(lm.counters.prompts[1]!), "Outputs will be a JSON object")
      const reask = ScriptedLm.lastUserText(lm.counters.prompts[1]!)
      assert.include(reask, "Your previous reply could not be parsed: the reply has no `[[ ## team ## ]]` section")
      assert.include(reask, "Respond with a JSON object")
      assert.deepStrictEqual(prediction.trace[0]?.nearMisses, [])
    }))

  it.effect("an unreadable answer to the JSON re-ask fails as OutputParseError carrying it", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) => (call === 1 ? "billing" : "Sorry, I can only say billing."))
      const error = failureOf(yield* Effect.exit(Predict.make(Route)({ ticket: "charged twice" }).pipe(Effect.provide(lm.layer))))
      assert.strictEqual(error?._tag, "OutputParseError")
      if (error?._tag === "OutputParseError") {
        assert.strictEqual(error.adapter, "JsonAdapter")
        assert.strictEqual(error.raw, "Sorry, I can only say billing.")
        assert.strictEqual(error.attempts, 2)
      }
    }))

  it.effect("a chat-format answer to the JSON re-ask is still read", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) =>
        call === 1 ? "billing" : ScriptedLm.reply({ team: "billing", confidence: 0.7, note: "x" })
      )
      const prediction = yield* Predict.make(Route)({ ticket: "charged twice" }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(prediction.output, { team: "billing", confidence: 0.7, note: "x" })
      assert.deepStrictEqual(prediction.trace[0]?.nearMisses.map((m) => m.kind), ["fallback-format"])
    }))

  it.effect("with the fallback off, the chat adapter reads and re-asks in its own format only", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "{\"team\": \"tech\", \"confidence\": 0.5, \"note\": null}")
      const exit = yield* Effect.exit(
        Predict.make(Route)({ ticket: "app crashes" }).pipe(Adapter.withFallback(false), Effect.provide(lm.layer))
      )
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "OutputParseError")
      if (error?._tag === "OutputParseError") assert.strictEqual(error.adapter, "ChatAdapter")
      assert.strictEqual(lm.counters.calls, 2)
      assert.include(ScriptedLm.lastUserText(lm.counters.prompts[1]!), "Respond with the corresponding output fields")
    }))

  it.effect("the JSON adapter in force has no fallback", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ team: "tech", confidence: 0.5, note: "x" }))
      const exit = yield* Effect.exit(
        Predict.make(Route)({ ticket: "app crashes" }).pipe(Adapter.withAdapter(JsonAdapter.adapter), Effect.provide(lm.layer))
      )
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "OutputParseError")
      if (error?._tag === "OutputParseError") assert.strictEqual(error.adapter, "JsonAdapter")
    }))

  it("readReply picks the reader and the adapter of the re-ask", () => {
    const chat = ChatAdapter.adapter
    const json = "{\"team\": \"sales\", \"confidence\": 1, \"note\": null}"
    const on = Adapter.readReply(chat, chat, Route, json, true)
    assert.isTrue(Either.isRight(on.result))
    assert.strictEqual(on.reaskWith, JsonAdapter.inPrompt)
    const off = Adapter.readReply(chat, chat, Route, json, false)
    assert.isTrue(Either.isLeft(off.result))
    assert.strictEqual(off.reaskWith, chat)
    // a JSON object missing a key: the JSON reader's issue names it
    const partial = Adapter.readReply(chat, chat, Route, "{\"team\": \"sales\"}", true)
    assert.deepStrictEqual(
      Either.mapLeft(partial.result, (issue) => issue.issue),
      Either.left("the JSON object has no \"confidence\" key")
    )
  })
})

describe("streaming through the adapter's own parser", () => {
  it.effect("a user's adapter streams its fields with its own streamParser", () =>
    Effect.gen(function*() {
      // an adapter whose whole reply is the `answer` field
      const plain: Adapter.Adapter = {
        ...ChatAdapter.adapter,
        name: "PlainAdapter",
        fallback: undefined,
        parse: (_signature, text) => Either.right({ values: { answer: text.trim() }, nearMisses: [] }),
        streamParser: () => ({ push: (delta) => [{ field: "answer", delta }], end: () => [] })
      }
      const lm = StreamingLm.make(() => "Four, of course.")
      const events = yield* StreamPredict.stream(Signature.fromString("question -> answer"), { question: "2+2?" }, { adapter: plain })
        .pipe(Stream.runCollect, Effect.provide(lm.layer))
      const deltas = Chunk.toArray(events).flatMap((e) => (e._tag === "FieldDelta" ? [e.delta] : []))
      assert.strictEqual(deltas.join(""), "Four, of course.")
    }))

  it.effect("a re-ask through the JSON fallback streams its fields too", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make((_prompt, call) =>
        call === 1 ? "I think billing." : "{\"team\": \"billing\", \"confidence\": 0.9, \"note\": \"refund\"}"
      )
      const events = Chunk.toArray(
        yield* StreamPredict.stream(Route, { ticket: "charged twice" }).pipe(Stream.runCollect, Effect.provide(lm.layer))
      )
      const fieldsOfCall2 = events.flatMap((e) => (e._tag === "FieldDelta" && e.call === 2 ? [`${e.field}=${e.delta}`] : []))
      assert.deepStrictEqual(fieldsOfCall2, ["team=billing", "confidence=0.9", "note=refund"])
      const last = events[events.length - 1]
      assert.strictEqual(last?._tag, "Final")
    }))
})
