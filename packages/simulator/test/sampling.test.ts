/**
 * `temperature` and `seed`: the same seed and temperature give the same reply; another seed,
 * or a temperature above 0 without a seed, another reply. In-process (the simulator's `Config`
 * and core's `LmConfig`) and on the wire (the request body).
 */
import { LmConfig } from "@effect-dspy/core"
import { LanguageModel, Prompt } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { Simulator, SimulatorServer } from "../src/index.js"
import { system, userInputs } from "./fixtures.js"
import { post } from "./http.js"
import * as Decode from "./wireDecode.js"

const prompt = (question: string) =>
  Prompt.make([
    { role: "system", content: system },
    { role: "user", content: [{ type: "text", text: userInputs(question, "neutral") }] }
  ])

const ask = (question: string) => Effect.map(LanguageModel.generateText({ prompt: prompt(question) }), (r) => r.text)

/** Two fresh simulators with the same options answer the same call. */
const twice = (settings: Simulator.Config.Service, question: string) =>
  Effect.all([0, 1].map(() =>
    ask(question).pipe(Simulator.withConfigOverride(settings), Effect.provide(Simulator.layer({ seed: 5 })))
  ))

describe("sampling settings", () => {
  it.effect.prop(
    "same seed and temperature, same reply (on a fresh simulator)",
    [fc.integer(), fc.double({ min: 0, max: 2, noNaN: true }), fc.string({ maxLength: 30 })],
    ([seed, temperature, question]) =>
      Effect.map(twice({ seed, temperature }, question), ([a, b]) => assert.strictEqual(a, b)),
    { fastCheck: { numRuns: 30 } }
  )

  it.effect("another seed gives another reply; temperature 0 or none repeats itself", () =>
    Effect.gen(function*() {
      const bySeed = new Set<string>()
      for (const seed of [1, 2, 3, 4]) {
        bySeed.add(yield* ask("Why is coffee bitter?").pipe(Simulator.withConfigOverride({ seed, temperature: 0.7 })))
      }
      assert.strictEqual(bySeed.size, 4)
      const cold = yield* Effect.all([0, 1, 2].map(() => ask("Why is coffee bitter?").pipe(Simulator.withConfigOverride({ temperature: 0 }))))
      assert.strictEqual(new Set(cold).size, 1)
      const plain = yield* Effect.all([0, 1].map(() => ask("Why is coffee bitter?")))
      assert.strictEqual(plain[0], cold[0])
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("a temperature above 0 without a seed answers differently each call, the same in each run", () =>
    Effect.gen(function*() {
      const run = Effect.all([0, 1, 2, 3].map(() => ask("Name a good espresso")), { concurrency: 1 }).pipe(
        Simulator.withConfigOverride({ temperature: 1 }),
        Effect.provide(Simulator.layer({ seed: 9 }))
      )
      const first = yield* run
      assert.strictEqual(new Set(first).size, 4)
      assert.deepStrictEqual(yield* run, first)
    }))

  it.effect("core's LmConfig settings are honoured (BestOfN's attempts at temperature 1 differ)", () =>
    Effect.gen(function*() {
      const attempts = yield* Effect.all(
        [0, 1, 2].map((rolloutId) => ask("Which milk foams best?").pipe(LmConfig.withSettings({ temperature: 1, rolloutId })))
      )
      assert.strictEqual(new Set(attempts).size, 3)
      // LmConfig over the simulator's own Config
      const seeded = yield* Effect.all([0, 1].map(() =>
        ask("Which milk foams best?").pipe(
          LmConfig.withSettings({ temperature: 1, seed: 7 }),
          Simulator.withConfigOverride({ seed: 8 })
        )
      ))
      assert.strictEqual(seeded[0], seeded[1])
      const other = yield* ask("Which milk foams best?").pipe(Simulator.withConfigOverride({ temperature: 1, seed: 8 }))
      assert.notStrictEqual(other, seeded[0])
    }).pipe(Effect.provide(Simulator.layer())))

  it.effect("on the wire: the body's temperature and seed (chat completions), temperature (Messages)", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const messages = [{ role: "system", content: system }, { role: "user", content: userInputs("Hot or iced?", "happy") }]
      const chat = (extra: Record<string, unknown>) =>
        Effect.map(
          post(`${server.url}/v1/chat/completions`, { model: "m", messages, ...extra }),
          (r) => JSON.parse(r.text).choices[0].message.content as string
        )
      assert.strictEqual(yield* chat({ seed: 1, temperature: 1 }), yield* chat({ seed: 1, temperature: 1 }))
      assert.notStrictEqual(yield* chat({ seed: 1, temperature: 1 }), yield* chat({ seed: 2, temperature: 1 }))
      assert.notStrictEqual(yield* chat({ temperature: 1 }), yield* chat({ temperature: 1 }))
      assert.strictEqual(yield* chat({}), yield* chat({}))
      const anthropic = () =>
        Effect.map(
          post(`${server.url}/v1/messages`, { model: "c", max_tokens: 500, temperature: 1, system, messages: messages.slice(1) }, {
            "anthropic-version": "2023-06-01"
          }),
          (r) => JSON.parse(r.text).content[0].text as string
        )
      assert.notStrictEqual(yield* anthropic(), yield* anthropic())
    }).pipe(Effect.provide(SimulatorServer.layer())))
})

describe("one reply on every path", () => {
  it.effect("the same prompt and settings get the same reply in-process and over each wire format", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const user = userInputs("Is a flat white stronger than a latte?", "neutral")
      const inProcess = (settings: Simulator.Config.Service) =>
        ask("Is a flat white stronger than a latte?").pipe(
          Simulator.withConfigOverride(settings),
          Effect.provide(Simulator.layer({ seed: 4 }))
        )
      const chat = (extra: Record<string, unknown>) =>
        Effect.map(
          post(`${server.url}/v1/chat/completions`, {
            model: "m",
            messages: [{ role: "system", content: system }, { role: "user", content: user }],
            ...extra
          }),
          (r) => Decode.chatWhole(JSON.parse(r.text)).text
        )
      const responses = Effect.map(
        post(`${server.url}/v1/responses`, { model: "m", instructions: system, input: user }),
        (r) => Decode.responsesWhole(JSON.parse(r.text)).text
      )
      const messages = Effect.map(
        post(`${server.url}/v1/messages`, { model: "c", max_tokens: 4000, system, messages: [{ role: "user", content: user }] }, {
          "anthropic-version": "2023-06-01"
        }),
        (r) => Decode.messagesWhole(JSON.parse(r.text)).text
      )
      const reply = yield* inProcess({})
      assert.deepStrictEqual([yield* chat({}), yield* responses, yield* messages], [reply, reply, reply])
      // a seed and a temperature mean the same in-process and in a chat completions body
      assert.strictEqual(yield* chat({ seed: 11, temperature: 0.8 }), yield* inProcess({ seed: 11, temperature: 0.8 }))
    }).pipe(Effect.provide(SimulatorServer.layer({ seed: 4 }))))
})
