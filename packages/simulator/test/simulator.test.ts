import { AiError, LanguageModel, Prompt, Response, Telemetry, Tool, Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Option, Schema, Stream, TestClock } from "effect"
import { Script, Simulator } from "../src/index.js"
import { assistantOutputs, sections, system, triageSystem, triageUser, userInputs } from "./fixtures.js"

const fieldPrompt = (question: string, mood = "happy") =>
  Prompt.make([
    { role: "system", content: system },
    { role: "user", content: [{ type: "text", text: userInputs(question, mood) }] }
  ])

const GetWeather = Tool.make("GetWeather", {
  description: "Weather of a city",
  parameters: { city: Schema.String, days: Schema.Int.pipe(Schema.between(1, 7)) },
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ GetWeather: ({ city }) => Effect.succeed(`Sunny in ${city}`) })

describe("Simulator (in-process)", () => {
  it.effect("answers a field-marker prompt with every output field, in order", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: fieldPrompt("What is 2+2?") })
      const parts = sections(response.text)
      assert.deepStrictEqual(parts.map(([name]) => name), ["reasoning", "answer", "completed"])
      assert.match(parts[0]![1], /step/i)
      assert.isTrue(Number.isFinite(Number(parts[1]![1])))
      assert.strictEqual(response.finishReason, "stop")
      assert.isAbove(response.usage.inputTokens ?? 0, 50)
      assert.isAbove(response.usage.outputTokens ?? 0, 5)
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("respects enums, unions and arrays from the notes", () =>
    Effect.gen(function*() {
      for (const request of ["My latte is cold", "Can I get a refund?", "Tell me a joke", "Where is the door?"]) {
        const response = yield* LanguageModel.generateText({
          prompt: [{ role: "system", content: triageSystem }, { role: "user", content: triageUser(request) }]
        })
        const parts = Object.fromEntries(sections(response.text))
        assert.include(["low", "high"], parts["priority"])
        const action = JSON.parse(parts["action"]!)
        assert.include(["Joke", "Refund"], action._tag)
        const tags = JSON.parse(parts["tags"]!)
        assert.isArray(tags)
        assert.isAbove(tags.length, 0)
        assert.isString(parts["reply"])
        assert.strictEqual(parts["completed"], "")
      }
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("is deterministic for a request and a seed", () =>
    Effect.gen(function*() {
      const a = yield* LanguageModel.generateText({ prompt: fieldPrompt("Why is the sky blue?") }).pipe(
        Effect.provide(Simulator.layer({ seed: 1 }))
      )
      const b = yield* LanguageModel.generateText({ prompt: fieldPrompt("Why is the sky blue?") }).pipe(
        Effect.provide(Simulator.layer({ seed: 1 }))
      )
      assert.strictEqual(a.text, b.text)
      const texts = new Set<string>()
      for (const seed of [1, 2, 3, 4]) {
        const r = yield* LanguageModel.generateText({ prompt: fieldPrompt("Why is the sky blue?") }).pipe(
          Effect.provide(Simulator.layer({ seed }))
        )
        texts.add(r.text)
      }
      assert.isAbove(texts.size, 1)
    }))

  it.effect("generates objects for generateObject", () =>
    Effect.gen(function*() {
      const Order = Schema.Struct({
        item: Schema.Literal("latte", "mocha"),
        size: Schema.Int.pipe(Schema.between(1, 3)),
        notes: Schema.optional(Schema.String),
        action: Schema.Union(Schema.TaggedStruct("Pickup", {}), Schema.TaggedStruct("Deliver", { address: Schema.String }))
      })
      for (const prompt of ["Order a coffee", "Order another coffee", "A third one"]) {
        const response = yield* LanguageModel.generateObject({ prompt, schema: Order, objectName: "Order" })
        assert.include(["latte", "mocha"], response.value.item)
        assert.isTrue(response.value.size >= 1 && response.value.size <= 3)
      }
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("calls a forced tool with valid arguments", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({
        prompt: "What's the weather?",
        toolkit: Weather,
        toolChoice: { tool: "GetWeather" }
      })
      assert.strictEqual(response.toolCalls.length, 1)
      const call = response.toolCalls[0]!
      assert.strictEqual(call.name, "GetWeather")
      assert.isString(call.params.city)
      assert.isTrue(call.params.days >= 1 && call.params.days <= 7)
      assert.strictEqual(response.finishReason, "tool-calls")
      assert.match(String(response.toolResults[0]?.result), /^Sunny in /)
    }).pipe(Effect.provide([Simulator.layer(), WeatherHandlers])))

  it.effect("answers in text after a tool result", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({
        prompt: Prompt.make([
          { role: "user", content: "What's the weather in Oslo?" },
          {
            role: "assistant",
            content: [{ type: "tool-call", id: "call_1", name: "GetWeather", params: { city: "Oslo", days: 1 }, providerExecuted: false }]
          },
          {
            role: "tool",
            content: [{ type: "tool-result", id: "call_1", name: "GetWeather", isFailure: false, result: "Sunny", providerExecuted: false }]
          }
        ]),
        toolkit: Weather
      })
      assert.strictEqual(response.toolCalls.length, 0)
      assert.isAbove(response.text.length, 0)
    }).pipe(Effect.provide([Simulator.layer(), WeatherHandlers])))

  it.effect("streams the same text as generateText, ending with a finish part", () =>
    Effect.gen(function*() {
      const whole = yield* LanguageModel.generateText({ prompt: fieldPrompt("Stream me") })
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(LanguageModel.streamText({ prompt: fieldPrompt("Stream me") })))
      const text = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
      assert.strictEqual(text, whole.text)
      assert.isAbove(parts.filter((p) => p.type === "text-delta").length, 3)
      const last = parts[parts.length - 1]!
      assert.strictEqual(last.type, "finish")
      assert.strictEqual(last.type === "finish" ? last.usage.outputTokens : 0, whole.usage.outputTokens)
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("plain calls give parts that the library's Schemas read back unchanged, and reach the span transformer", () =>
    Effect.gen(function*() {
      const seen: Array<ReadonlyArray<unknown>> = []
      const transformer: Telemetry.SpanTransformer = (options) => {
        seen.push(options.response)
      }
      const model = yield* Simulator.make().pipe(Effect.provideService(Telemetry.CurrentSpanTransformer, transformer))
      const streamed = Chunk.toReadonlyArray(yield* Stream.runCollect(model.streamText({ prompt: fieldPrompt("Stream me") })))
      const whole = yield* model.generateText({ prompt: fieldPrompt("Stream me") })
      const StreamPart = Response.StreamPart(Toolkit.empty)
      const Part = Response.Part(Toolkit.empty)
      assert.deepStrictEqual(
        streamed.map((part) => Schema.encodeSync(StreamPart)(Schema.decodeSync(StreamPart)(Schema.encodeSync(StreamPart)(part)))),
        streamed.map((part) => Schema.encodeSync(StreamPart)(part))
      )
      assert.deepStrictEqual(
        whole.content.map((part) => Schema.encodeSync(Part)(Schema.decodeSync(Part)(Schema.encodeSync(Part)(part)))),
        whole.content.map((part) => Schema.encodeSync(Part)(part))
      )
      assert.deepStrictEqual(streamed.map((p) => p.type).slice(0, 2), ["response-metadata", "text-start"])
      assert.strictEqual(streamed[streamed.length - 1]!.type, "finish")
      assert.strictEqual(whole.text, streamed.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join(""))
      // the transformer saw each call's parts
      assert.strictEqual(seen.length, 2)
      assert.strictEqual(seen[0]!.length, streamed.length)
      assert.strictEqual(seen[1]!.length, whole.content.length)
    }))

  it.effect("a paced stream read late gets every part due by then in one chunk, in order", () =>
    Effect.gen(function*() {
      const paced = LanguageModel.streamText({ prompt: fieldPrompt("Pace me") }).pipe(
        Stream.provideLayer(Simulator.layer({ timeToFirstTokenMillis: 200, tokensPerSecond: 10 }))
      )
      const whole = yield* Stream.runCollect(Stream.provideLayer(
        LanguageModel.streamText({ prompt: fieldPrompt("Pace me") }),
        Simulator.layer()
      ))
      const chunks = yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Stream.toPull(paced)
        const prelude = Chunk.toReadonlyArray(yield* pull)
        // the consumer comes back well after the whole answer is due
        yield* TestClock.adjust("1 hour")
        const rest = Chunk.toReadonlyArray(yield* pull)
        const end = yield* Effect.either(pull)
        assert.isTrue(Either.isLeft(end))
        return [prelude, rest]
      }))
      const types = (parts: ReadonlyArray<{ readonly type: string }>) => parts.map((p) => p.type)
      assert.deepStrictEqual(types(chunks[0]!), ["response-metadata", "text-start"])
      assert.deepStrictEqual(types(chunks.flat()), types(Chunk.toReadonlyArray(whole)))
    }))

  it.effect("latency, time to first token and token pace follow the (test) clock", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(LanguageModel.generateText({ prompt: "hello" }))
      yield* TestClock.adjust("999 millis")
      assert.isTrue((yield* Fiber.poll(fiber))._tag === "None")
      yield* TestClock.adjust("1 millis")
      const done = yield* Fiber.join(fiber)
      assert.isAbove(done.text.length, 0)

      const deltas: Array<string> = []
      const stream = yield* Effect.fork(
        LanguageModel.streamText({ prompt: "hello" }).pipe(
          Stream.provideLayer(Simulator.layer({ timeToFirstTokenMillis: 200, tokensPerSecond: 10 })),
          Stream.runForEach((p) => Effect.sync(() => p.type === "text-delta" && deltas.push(p.delta)))
        )
      )
      yield* TestClock.adjust("199 millis")
      assert.strictEqual(deltas.length, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(deltas.length, 1)
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(deltas.length, 2)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(stream)
      assert.isAbove(deltas.length, 2)
    }).pipe(Effect.provide(Simulator.layer({ latency: { _tag: "Fixed", millis: 1000 } }))))

  it.effect("scripted rules answer from the parsed request (demo of the matching kind)", () =>
    Effect.gen(function*() {
      const rule = Script.when(
        (req) => req.demos.some((d) => d.inputs["mood"] === req.inputs["mood"]),
        (req) => Script.fields({ answer: req.inputs["question"] === "What is 2+2?" ? 4 : 0 })
      )
      const demo = [
        { role: "user" as const, content: userInputs("What is 1+1?", "happy", false) },
        { role: "assistant" as const, content: assistantOutputs("Easy.", "2") }
      ]
      const withDemo = yield* LanguageModel.generateText({
        prompt: [{ role: "system", content: system }, ...demo, { role: "user", content: userInputs("What is 2+2?", "happy") }]
      }).pipe(Effect.provide(Simulator.layer({ script: [rule] })))
      const parts = Object.fromEntries(sections(withDemo.text))
      assert.strictEqual(parts["answer"], "4")
      assert.isAbove(parts["reasoning"]!.length, 0) // missing fields are generated

      const otherMood = yield* LanguageModel.generateText({
        prompt: [{ role: "system", content: system }, ...demo, { role: "user", content: userInputs("What is 2+2?", "upset") }]
      }).pipe(Effect.provide(Simulator.layer({ script: [rule, Script.whenInput("mood", "upset", Script.text("grumpy"))] })))
      assert.strictEqual(otherMood.text, "grumpy")
    }))

  it.effect("faults: 429 with retry-after, then the next request passes", () =>
    Effect.gen(function*() {
      const instance = yield* Simulator.makeInstance({ faults: { rateLimit: 0.5, retryAfterSeconds: 2 }, seed: 3 })
      const results = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) => Effect.either(instance.languageModel.generateText({ prompt: `question ${i}` }))
      )
      const limited = results.filter(Either.isLeft).map((e) => e.left)
      assert.isAbove(limited.length, 5)
      assert.isAbove(results.filter(Either.isRight).length, 5)
      const first = limited[0]!
      assert.instanceOf(first, AiError.HttpResponseError)
      if (first._tag === "HttpResponseError") {
        assert.strictEqual(first.response.status, 429)
        assert.strictEqual(first.response.headers["retry-after"], "2")
        assert.strictEqual(first.response.headers["retry-after-ms"], "2000")
      }
      const counters = yield* instance.counters
      assert.strictEqual(counters.rateLimited, limited.length)
      assert.strictEqual(counters.completed, 40 - limited.length)
    }))

  it.effect("faults: truncated streams end without a finish part; malformed breaks the markers", () =>
    Effect.gen(function*() {
      const truncating = yield* Simulator.makeInstance({ faults: { truncate: 1 } })
      const parts = Chunk.toReadonlyArray(
        yield* Stream.runCollect(truncating.languageModel.streamText({ prompt: fieldPrompt("Cut me") }))
      )
      assert.isFalse(parts.some((p) => p.type === "finish"))
      assert.strictEqual((yield* truncating.counters).truncated, 1)

      const malformed = yield* LanguageModel.generateText({ prompt: fieldPrompt("Break me") }).pipe(
        Effect.provide(Simulator.layer({ faults: { malformed: 1 } }))
      )
      assert.notInclude(malformed.text, "[[ ## completed ## ]]")
    }))

  it.effect("maxConcurrent answers 429 beyond the limit; interrupted calls count as aborted", () =>
    Effect.gen(function*() {
      const instance = yield* Simulator.makeInstance({ latency: { _tag: "Fixed", millis: 5000 }, limits: { maxConcurrent: 2 } })
      const slow = yield* Effect.fork(
        Effect.all([instance.languageModel.generateText({ prompt: "a" }), instance.languageModel.generateText({ prompt: "b" })], {
          concurrency: 2
        })
      )
      yield* TestClock.adjust("1 millis")
      const third = yield* Effect.either(instance.languageModel.generateText({ prompt: "c" }))
      assert.isTrue(Either.isLeft(third) && third.left._tag === "HttpResponseError" && third.left.response.status === 429)
      assert.strictEqual((yield* instance.counters).maxInFlight, 2)
      yield* Fiber.interrupt(slow)
      const counters = yield* instance.counters
      assert.strictEqual(counters.abortedByClient, 2)
      assert.strictEqual(counters.inFlight, 0)
    }))

  it.effect("requestsPerMinute counts the last minute's admissions and allocates nothing up front", () =>
    Effect.gen(function*() {
      // a limit far above any load (it allocated a slot per allowed request)
      const roomy = yield* Simulator.makeInstance({ limits: { requestsPerMinute: 2 ** 32 } })
      yield* roomy.languageModel.generateText({ prompt: "a" })
      const instance = yield* Simulator.makeInstance({ limits: { requestsPerMinute: 3 } })
      const status = (prompt: string) =>
        Effect.match(instance.languageModel.generateText({ prompt }), {
          onFailure: (e) => (e._tag === "HttpResponseError" ? e.response.status : -1),
          onSuccess: () => 200
        })
      assert.deepStrictEqual([yield* status("a"), yield* status("b")], [200, 200])
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual([yield* status("c"), yield* status("d")], [200, 429])
      // the first two leave the window 60 s after they came
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual([yield* status("e"), yield* status("f"), yield* status("g")], [200, 200, 429])
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual([yield* status("h")], [200])
    }))

  it.effect("a stream its reader leaves mid-answer counts as aborted and leaves nothing waiting on the clock", () =>
    Effect.gen(function*() {
      const instance = yield* Simulator.makeInstance({ tokensPerSecond: 10 })
      const fiber = yield* Effect.fork(Stream.runCollect(Stream.take(instance.languageModel.streamText({ prompt: "Tell me a long story" }), 4)))
      for (let i = 0; i < 10 && Option.isNone(yield* Fiber.poll(fiber)); i++) yield* TestClock.adjust("100 millis")
      assert.strictEqual(Chunk.size(yield* Fiber.join(fiber)), 4)
      const counters = yield* instance.counters
      assert.deepStrictEqual([counters.abortedByClient, counters.completed, counters.inFlight], [1, 0, 0])
      assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 0)
    }))
})
