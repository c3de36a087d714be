import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Fiber, Option, Schema, Stream, TestClock } from "effect"
import {
  Adapter,
  ChainOfThought,
  DspyEvent,
  EventBus,
  JsonAdapter,
  Module,
  Predict,
  Signature,
  StreamPredict,
  Usage
} from "../src/index.js"
import * as RecordingTracer from "./utils/RecordingTracer.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"
import * as StreamingLm from "./utils/StreamingLm.js"

const QA = Signature.fromString("question -> answer: number")
const Story = Signature.make("Story", {
  input: { topic: Schema.String },
  output: { title: Schema.String, lines: Schema.Array(Schema.String), score: Schema.Number }
})

type Event<O> = StreamPredict.StreamEvent<O>

const fieldText = <O>(events: ReadonlyArray<Event<O>>, field: string): string =>
  events.filter(StreamPredict.isFieldDelta).filter((e) => e.field === field).map((e) => e.delta).join("")

const tokenText = <O>(events: ReadonlyArray<Event<O>>): string =>
  events.filter(StreamPredict.isTokenDelta).map((e) => e.delta).join("")

const finalOf = <O>(events: ReadonlyArray<Event<O>>): StreamPredict.Final<O> => {
  const last = events[events.length - 1]
  if (last === undefined || last._tag !== "Final") throw new Error("the last event is not Final")
  return last
}

/** Runs a stream to completion while TestClock moves on. */
const collect = <A, E, R>(stream: Stream.Stream<A, E, R>, advance: Duration.DurationInput = "1 minute") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Stream.runCollect(stream))
    yield* TestClock.adjust(advance)
    return Chunk.toReadonlyArray(yield* Fiber.join(fiber))
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Exit.causeOption(exit).pipe(Option.flatMap((c) => c._tag === "Fail" ? Option.some(c.error) : Option.none()))) : undefined

describe("StreamPredict", () => {
  it.effect("streams tokens, then field deltas as markers are read, then the final prediction", () =>
    Effect.gen(function*() {
      const reply = ScriptedLm.reply({ reasoning: "Two and two make four.", answer: 4 })
      const lm = StreamingLm.make(() => reply, { perTokenMillis: 10 })
      const solve = ChainOfThought.make(QA)
      const events = yield* collect(StreamPredict.stream(solve, { question: "2+2?" })).pipe(Effect.provide(lm.layer))
      assert.strictEqual(tokenText(events), reply)
      assert.strictEqual(fieldText(events, "reasoning"), "Two and two make four.")
      assert.strictEqual(fieldText(events, "answer"), "4")
      const final = finalOf(events)
      assert.deepStrictEqual(final.prediction.output, { reasoning: "Two and two make four.", answer: 4 })
      assert.strictEqual(final.prediction.usage.lmCalls, 1)
      assert.strictEqual(final.prediction.usage.outputTokens, Math.ceil(reply.length / 4))
      // the first reasoning delta comes long before the reply is complete
      const firstField = events.findIndex(StreamPredict.isFieldDelta)
      const lastToken = events.length - 1 - [...events].reverse().findIndex(StreamPredict.isTokenDelta)
      assert.isTrue(firstField > 0 && firstField < lastToken)
      assert.strictEqual(events.filter(StreamPredict.isFinal).length, 1)
      assert.strictEqual(lm.counters.calls, 1)
    }))

  it.effect("streams a Predict built from a signature, with the module's instructions and demos", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => ScriptedLm.reply({ answer: 7 }))
      const qa = Predict.make(QA, {
        instructions: "Answer with one number.",
        demos: [{ question: "1+1?", answer: 2 }]
      })
      const events = yield* collect(StreamPredict.stream(qa, { question: "3+4?" })).pipe(Effect.provide(lm.layer))
      assert.strictEqual(finalOf(events).prediction.output.answer, 7)
      const prompt = lm.counters.prompts[0]!
      assert.include(ScriptedLm.systemText(prompt), "Answer with one number.")
      assert.strictEqual(prompt.content.length, 4) // system, demo user, demo assistant, user
      // a bare signature works too
      const direct = yield* collect(StreamPredict.stream(QA, { question: "3+4?" })).pipe(Effect.provide(lm.layer))
      assert.strictEqual(finalOf(direct).prediction.output.answer, 7)
    }))

  it.effect("reads JSON keys incrementally with the JSON adapter", () =>
    Effect.gen(function*() {
      const reply = JSON.stringify({ title: "A \"quiet\" night", lines: ["one", "two"], score: 0.5 })
      const lm = StreamingLm.make(() => reply, { split: (t) => t.match(/.{1,3}/gs) ?? [t] })
      const events = yield* collect(StreamPredict.stream(Story, { topic: "sleep" })).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        Effect.provide(lm.layer)
      )
      assert.strictEqual(fieldText(events, "title"), "A \"quiet\" night")
      assert.strictEqual(fieldText(events, "lines"), "[\"one\",\"two\"]")
      assert.strictEqual(fieldText(events, "score"), "0.5")
      assert.deepStrictEqual(finalOf(events).prediction.output, { title: "A \"quiet\" night", lines: ["one", "two"], score: 0.5 })
      assert.include(ScriptedLm.lastUserText(lm.counters.prompts[0]!), "Respond with a JSON object")
    }))

  it.effect("fails with InvalidInput before any call", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => "unused")
      const untyped: unknown = { question: 42 }
      const exit = yield* Effect.exit(
        Stream.runDrain(StreamPredict.stream(ChainOfThought.make(QA), untyped as { question: string }))
      ).pipe(Effect.provide(lm.layer))
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "InvalidInput")
      if (error?._tag === "InvalidInput") assert.strictEqual(error.field, "question")
      assert.strictEqual(lm.counters.calls, 0)
    }))

  it.effect("fails with OutputParseError carrying the raw text, after the module's re-asks", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => "I will not use your format")
      const seen: Array<Event<unknown>> = []
      const exit = yield* StreamPredict.stream(Predict.make(QA), { question: "2+2?" }).pipe(
        Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
        Effect.exit,
        Effect.provide(lm.layer)
      )
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "OutputParseError")
      if (error?._tag === "OutputParseError") {
        assert.strictEqual(error.raw, "I will not use your format")
        assert.strictEqual(error.attempts, 2)
      }
      // both calls streamed their tokens, numbered
      assert.deepStrictEqual([...new Set(seen.filter(StreamPredict.isTokenDelta).map((e) => e.call))], [1, 2])
      assert.isFalse(seen.some(StreamPredict.isFinal))
    }))

  it.effect("runs under the same events, usage and spans as a normal call", () =>
    Effect.gen(function*() {
      const qa = Predict.make(QA, { name: "qa" })
      const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.scoped(Effect.gen(function*() {
          const bus = yield* EventBus.EventBus
          const sub = yield* bus.subscribe("*")
          const recording = RecordingTracer.make()
          const [, usage] = yield* Usage.track(effect).pipe(Effect.withTracer(recording.tracer))
          const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(sub.events, 4)))
          const spans = recording.spans.map((s) => s.name)
          return { usage, spans, types: events.map((e: DspyEvent.DspyEvent) => e.type) }
        })).pipe(Effect.provide(EventBus.layer))
      const normal = yield* run(collectEffect(qa({ question: "2+2?" })))
      const streamed = yield* run(collect(StreamPredict.stream(qa, { question: "2+2?" })))
      assert.deepStrictEqual(streamed.types, ["module.start", "lm.start", "lm.end", "module.end"])
      assert.deepStrictEqual(streamed.types, normal.types)
      // @effect/ai adds its own LanguageModel.generateText / LanguageModel.streamText span below ours
      const ours = (spans: ReadonlyArray<string>) => spans.filter((name) => !name.startsWith("LanguageModel."))
      assert.deepStrictEqual(ours(streamed.spans), ours(normal.spans))
      assert.deepStrictEqual(ours(streamed.spans), ["Predict(qa)", "chat unknown"])
      assert.deepStrictEqual(streamed.usage, normal.usage)
    }).pipe(Effect.provide(StreamingLm.make(() => ScriptedLm.reply({ answer: 4 }), { perTokenMillis: 5 }).layer)))

  it.effect("concurrent streams of one module never share their readers", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(
        (prompt) => ScriptedLm.reply({ reasoning: `about ${ScriptedLm.lastUserText(prompt).includes("cats") ? "cats" : "dogs"}`, answer: 1 }),
        { perTokenMillis: 7, split: (t) => t.match(/.{1,2}/gs) ?? [t] }
      )
      const solve = ChainOfThought.make(QA)
      const [cats, dogs] = yield* collect(
        Stream.zip(
          Stream.runCollect(StreamPredict.stream(solve, { question: "cats?" })).pipe(Stream.fromEffect),
          Stream.runCollect(StreamPredict.stream(solve, { question: "dogs?" })).pipe(Stream.fromEffect)
        )
      ).pipe(Effect.map((r) => r[0]!), Effect.provide(lm.layer))
      assert.strictEqual(fieldText(Chunk.toReadonlyArray(cats), "reasoning"), "about cats")
      assert.strictEqual(fieldText(Chunk.toReadonlyArray(dogs), "reasoning"), "about dogs")
      assert.strictEqual(lm.counters.maxOpen, 2)
    }))

  it.effect("a permit wraps the whole stream: 5 streams under a limit of 2 never have more than 2 open", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => ScriptedLm.reply({ answer: 1 }), { firstTokenMillis: 50, perTokenMillis: 20 })
      const qa = Predict.make(QA)
      const slots = yield* Effect.makeSemaphore(2)
      const questions = ["a", "b", "c", "d", "e"]
      const fiber = yield* Effect.forEach(
        questions,
        (question, i) =>
          i % 2 === 0
            ? StreamPredict.stream(qa, { question }).pipe(StreamPredict.withPermit(slots), StreamPredict.final)
            : StreamPredict.final(StreamPredict.stream(qa, { question }, { semaphore: slots })),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(lm.layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(results.length, 5)
      assert.strictEqual(lm.counters.completed, 5)
      assert.strictEqual(lm.counters.maxOpen, 2)
    }))

  it.effect("(contrast) a permit held only while the stream is built lets every stream open", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => ScriptedLm.reply({ answer: 1 }), { firstTokenMillis: 50, perTokenMillis: 20 })
      const qa = Predict.make(QA)
      const slots = yield* Effect.makeSemaphore(2)
      const fiber = yield* Effect.forEach(
        ["a", "b", "c", "d", "e"],
        (question) =>
          slots.withPermits(1)(Effect.succeed(StreamPredict.stream(qa, { question }))).pipe(Effect.flatMap(StreamPredict.final)),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(lm.layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.strictEqual(lm.counters.maxOpen, 5)
    }))

  it.effect("interrupting the consumer mid-stream interrupts the upstream stream at once", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => ScriptedLm.reply({ answer: 1234567 }), { perTokenMillis: 100, split: (t) => t.split("") })
      const seen: Array<string> = []
      const fiber = yield* StreamPredict.stream(Predict.make(QA), { question: "slow?" }).pipe(
        StreamPredict.tokens,
        Stream.runForEach((delta) => Effect.sync(() => seen.push(delta))),
        Effect.provide(lm.layer),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      assert.isTrue(seen.length > 3)
      assert.strictEqual(lm.counters.open, 1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(lm.counters.open, 0)
      assert.strictEqual(lm.counters.interrupted, 1)
      const sent = lm.counters.sent
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(lm.counters.sent, sent)
    }))

  it.effect("taking only the first tokens ends the upstream stream too", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make(() => ScriptedLm.reply({ answer: 1234567 }), { perTokenMillis: 100, split: (t) => t.split("") })
      const first = yield* collect(StreamPredict.stream(Predict.make(QA), { question: "q" }).pipe(Stream.take(3))).pipe(
        Effect.provide(lm.layer)
      )
      assert.strictEqual(first.length, 3)
      assert.strictEqual(lm.counters.interrupted, 1)
      assert.strictEqual(lm.counters.open, 0)
    }))

  it.effect("streams any module: a composition's LM calls stream one after the other", () =>
    Effect.gen(function*() {
      const lm = StreamingLm.make((prompt) =>
        ScriptedLm.systemText(prompt).includes("`draft`") && !ScriptedLm.systemText(prompt).includes("`text`")
          ? ScriptedLm.reply({ draft: "rough words" })
          : ScriptedLm.reply({ text: "Polished words." })
      )
      const Writer = Module.make(
        {
          name: "Writer",
          submodules: {
            draft: Predict.make(Signature.fromString("topic -> draft")),
            polish: Predict.make(Signature.fromString("draft -> text"))
          }
        },
        ({ draft, polish }, input: { readonly topic: string }) =>
          Effect.gen(function*() {
            const d = yield* draft(input)
            const p = yield* polish({ draft: d.output.draft })
            return p.output
          })
      )
      const events = yield* collect(StreamPredict.stream(Writer, { topic: "tea" })).pipe(Effect.provide(lm.layer))
      const calls = events.filter(StreamPredict.isFieldDelta).map((e) => `${e.call}:${e.field}`)
      assert.deepStrictEqual([...new Set(calls)], ["1:draft", "2:text"])
      assert.deepStrictEqual(finalOf(events).prediction.output, { text: "Polished words." })
      assert.strictEqual(finalOf(events).prediction.usage.lmCalls, 2)
    }))
})

/** Runs an effect while TestClock moves on. */
const collectEffect = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })
