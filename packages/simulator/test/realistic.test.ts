/**
 * The `realistic` fault profile and its single faults, in-process and over each wire format:
 * in-band errors, streams cut without their end marker, think blocks and reasoning channels,
 * fenced JSON, typed content arrays.
 */
import { AiError, Prompt } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { Simulator, SimulatorConfig, SimulatorServer } from "../src/index.js"
import { system, userInputs } from "./fixtures.js"
import { post } from "./http.js"
import * as Decode from "./wireDecode.js"

const fieldPrompt = Prompt.make([
  { role: "system", content: system },
  { role: "user", content: [{ type: "text", text: userInputs("What is 2+2?", "happy") }] }
])
const messages = [{ role: "system", content: system }, { role: "user", content: userInputs("What is 2+2?", "happy") }]
const anthropic = { "anthropic-version": "2023-06-01" }

const withServer = <A, E>(options: SimulatorServer.Options, f: (server: SimulatorServer.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(SimulatorServer.SimulatorServer, f).pipe(Effect.provide(SimulatorServer.layer(options)))

/** The three wire formats, streamed and whole, read back as a client reads them. */
const allFormats = (url: string) => {
  const chat = (stream: boolean) =>
    Effect.map(post(`${url}/v1/chat/completions`, { model: "m", messages, stream }), (r) =>
      stream ? Decode.chatStream(r.text) : Decode.chatWhole(JSON.parse(r.text)))
  const responses = (stream: boolean) =>
    Effect.map(post(`${url}/v1/responses`, { model: "m", instructions: system, input: messages[1]!.content, stream }), (r) =>
      stream ? Decode.responsesStream(r.text) : Decode.responsesWhole(JSON.parse(r.text)))
  const claude = (stream: boolean) =>
    Effect.map(
      post(`${url}/v1/messages`, { model: "c", max_tokens: 2000, system, messages: messages.slice(1), stream }, anthropic),
      (r) => (stream ? Decode.messagesStream(r.text) : Decode.messagesWhole(JSON.parse(r.text)))
    )
  return Effect.all([chat(true), chat(false), responses(true), responses(false), claude(true), claude(false)])
}

describe("realistic faults", () => {
  it("\"realistic\" is the documented profile", () => {
    const resolved = Either.getOrThrow(SimulatorConfig.resolve({ faults: "realistic" }))
    assert.deepStrictEqual(
      [resolved.faults.inBandError, resolved.faults.truncate, resolved.faults.think, resolved.faults.fencedJson, resolved.faults.contentArrays],
      [0.03, 0.03, 0.15, 0.25, 0.2]
    )
    assert.strictEqual(resolved.faults.rateLimit, 0)
  })

  it.effect("in-band errors: a stream ends with an error part and no finish; a whole reply fails", () =>
    Effect.gen(function*() {
      const instance = yield* Simulator.makeInstance({ faults: { inBandError: 1 }, seed: 2 })
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(instance.languageModel.streamText({ prompt: fieldPrompt })))
      assert.strictEqual(parts[parts.length - 1]!.type, "error")
      assert.isFalse(parts.some((p) => p.type === "finish"))
      const whole = yield* Effect.either(instance.languageModel.generateText({ prompt: fieldPrompt }))
      assert.isTrue(Either.isLeft(whole))
      if (Either.isLeft(whole)) {
        assert.instanceOf(whole.left, AiError.HttpResponseError)
        if (whole.left._tag === "HttpResponseError") assert.include([500, 529], whole.left.response.status)
      }
      assert.strictEqual((yield* instance.counters).inBandErrors, 2)
    }))

  it.effect("in-band errors over every wire format: seen as errors, never as a finished reply", () =>
    withServer({ faults: { inBandError: 1 } }, (server) =>
      Effect.gen(function*() {
        for (const read of yield* allFormats(server.url)) {
          assert.isTrue(read.error)
          assert.isFalse(read.ended)
        }
        assert.strictEqual((yield* server.counters).inBandErrors, 6)
      })))

  it.effect("truncation over every wire format: streams lose their end marker, whole replies are whole", () =>
    withServer({ faults: { truncate: 1 } }, (server) =>
      Effect.gen(function*() {
        const [chatStream, chatWhole, responsesStream, responsesWhole, messagesStream, messagesWhole] = yield* allFormats(server.url)
        for (const read of [chatStream!, responsesStream!, messagesStream!]) {
          assert.isFalse(read.ended)
          assert.isFalse(read.error)
          assert.isAbove(read.text.length, 0)
        }
        for (const read of [chatWhole!, responsesWhole!, messagesWhole!]) assert.isTrue(read.ended)
        const counters = yield* server.counters
        assert.strictEqual(counters.truncated, 3)
        assert.strictEqual(counters.completed, 3)
      })))

  it.effect("think: reasoning before the answer, as a <think> block or on the reasoning channel", () =>
    withServer({ faults: { think: 1 } }, (server) =>
      Effect.gen(function*() {
        let inline = 0
        let channel = 0
        for (let i = 0; i < 12; i++) {
          const r = yield* post(`${server.url}/v1/chat/completions`, {
            model: "m",
            messages: [messages[0], { role: "user", content: userInputs(`Question ${i}?`, "happy") }]
          })
          const read = Decode.chatWhole(JSON.parse(r.text))
          if (read.text.includes("</think>")) inline++
          if (read.reasoning !== "") channel++
          // the answer itself follows the reasoning
          assert.include(read.text, "[[ ## completed ## ]]")
        }
        assert.isAbove(inline, 0)
        assert.isAbove(channel, 0)
        const claude = Decode.messagesStream((yield* post(`${server.url}/v1/messages`, {
          model: "c",
          max_tokens: 2000,
          system,
          messages: [{ role: "user", content: userInputs("Question 3?", "happy") }],
          stream: true
        }, anthropic)).text)
        assert.isTrue(claude.ended)
        assert.isTrue(claude.reasoning !== "" || claude.text.includes("</think>"))
      })))

  it.effect("think in-process: reasoning parts, or a <think> block in the text", () =>
    Effect.gen(function*() {
      const model = yield* Simulator.make({ faults: { think: 1 } })
      let reasoning = 0
      let inline = 0
      for (let i = 0; i < 12; i++) {
        const response = yield* model.generateText({ prompt: `Tell me about coffee number ${i}` })
        if (response.reasoningText !== undefined && response.reasoningText !== "") reasoning++
        if (response.text.includes("</think>")) inline++
      }
      assert.isAbove(reasoning, 0)
      assert.isAbove(inline, 0)
    }))

  it.effect("fenced JSON: JSON replies come in a ```json fence; typed content arrays on chat completions", () =>
    withServer({ faults: { fencedJson: 1, contentArrays: 1 } }, (server) =>
      Effect.gen(function*() {
        const r = JSON.parse((yield* post(`${server.url}/v1/chat/completions`, {
          model: "m",
          messages: [{ role: "user", content: "Give me a JSON object describing a latte" }],
          response_format: { type: "json_object" }
        })).text)
        const content = r.choices[0].message.content
        assert.isArray(content)
        assert.strictEqual(content[0].type, "text")
        assert.match(content[0].text, /```json\n\{[\s\S]*\}\n```$/)
        const streamed = Decode.chatStream((yield* post(`${server.url}/v1/chat/completions`, {
          model: "m",
          messages: [{ role: "user", content: "Give me a JSON object describing a latte" }],
          response_format: { type: "json_object" },
          stream: true
        })).text)
        assert.strictEqual(streamed.text, content[0].text)
      })))

  it.effect("the realistic profile over a batch: most replies clean, each quirk seen, every reply readable", () =>
    withServer({ faults: "realistic", seed: 1 }, (server) =>
      Effect.gen(function*() {
        const reads = yield* Effect.forEach(Array.from({ length: 120 }, (_, i) => i), (i) =>
          Effect.map(post(`${server.url}/v1/chat/completions`, {
            model: "m",
            stream: true,
            messages: [messages[0], { role: "user", content: userInputs(`Question ${i}?`, "happy") }]
          }), (r) => Decode.chatStream(r.text)), { concurrency: 8 })
        const clean = reads.filter((r) => r.ended && !r.error)
        assert.isAbove(clean.length, 90)
        assert.isTrue(reads.some((r) => r.error))
        assert.isTrue(reads.some((r) => !r.ended && !r.error))
        assert.isTrue(reads.some((r) => r.reasoning !== "" || r.text.includes("</think>")))
        const counters = yield* server.counters
        assert.strictEqual(counters.completed + counters.truncated + counters.inBandErrors, 120)
      })))
})
