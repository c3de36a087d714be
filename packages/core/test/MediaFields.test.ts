import type * as Prompt from "@effect/ai/Prompt"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { Adapter, DspyError, JsonAdapter, Predict, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Chat = Signature.make("Chat", {
  instructions: "Answer the user.",
  input: { history: Signature.History, question: Schema.String },
  output: { answer: Schema.String }
})

const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string"
    ? message.content
    : message.content.map((part) => (part.type === "text" ? part.text : `<${part.type}>`)).join("")

const roles = (prompt: Prompt.Prompt) => prompt.content.map((m) => m.role)

describe("Signature.History", () => {
  it.effect("turns are shown as user and assistant messages before the current inputs (chat adapter)", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "About 2.1 million." }))
      const prediction = yield* Predict.make(Chat)({
        history: [
          { question: "What is the capital of France?", answer: "Paris" },
          { question: "And of Italy?" }
        ],
        question: "How many people live in the first one?"
      }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "About 2.1 million.")
      const prompt = lm.counters.prompts[0]!
      assert.deepStrictEqual(roles(prompt), ["system", "user", "assistant", "user", "assistant", "user"])
      const [system, user1, assistant1, user2, assistant2, current] = prompt.content.map(textOf)
      // the history field is not a field of the prompt
      assert.notInclude(system!, "history")
      assert.include(system!, "`question`")
      assert.strictEqual(user1, "[[ ## question ## ]]\nWhat is the capital of France?")
      assert.strictEqual(assistant1, "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]")
      assert.strictEqual(user2, "[[ ## question ## ]]\nAnd of Italy?")
      assert.strictEqual(assistant2, "[[ ## answer ## ]]\nNot supplied for this conversation history message.\n\n[[ ## completed ## ]]")
      assert.include(current!, "[[ ## question ## ]]\nHow many people live in the first one?")
      assert.include(current!, "Respond with the corresponding output fields")
    }))

  it.effect("the JSON adapter shows turns the same way, outputs as JSON objects", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => JSON.stringify({ answer: "Rome" }))
      yield* Predict.make(Chat)({ history: [{ question: "Capital of France?", answer: "Paris" }], question: "Of Italy?" }).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        Effect.provide(lm.layer)
      )
      const prompt = lm.counters.prompts[0]!
      assert.deepStrictEqual(roles(prompt), ["system", "user", "assistant", "user"])
      assert.strictEqual(textOf(prompt.content[2]!), "{\"answer\":\"Paris\"}")
    }))

  it.effect("a turn naming a field the signature lacks is an InvalidInput, before any call", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "unused")
      const error = yield* Effect.flip(
        Predict.make(Chat)({ history: [{ question: "q", answer: "a" }, { query: "typo" }], question: "q" }).pipe(Effect.provide(lm.layer))
      )
      assert.instanceOf(error, DspyError.InvalidInput)
      if (error instanceof DspyError.InvalidInput) {
        assert.strictEqual(error.field, "history")
        assert.include(error.issue, "\"query\"")
      }
      assert.strictEqual(lm.counters.calls, 0)
    }))

  it.effect("an empty history adds no message", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "hi" }))
      yield* Predict.make(Chat)({ history: [], question: "hello" }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(roles(lm.counters.prompts[0]!), ["system", "user"])
    }))
})

describe("Signature.Image", () => {
  const Describe = Signature.make("Describe", {
    input: { photo: Signature.Image, extras: Schema.optional(Schema.Array(Signature.Image)), note: Schema.String },
    output: { caption: Schema.String }
  })

  const fileParts = (prompt: Prompt.Prompt): Array<Prompt.FilePart> => {
    const last = prompt.content.at(-1)!
    return last.role === "user" ? last.content.filter((p): p is Prompt.FilePart => p.type === "file") : []
  }

  it.effect("an image goes into the user message as a file part where its value goes", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ caption: "A cat." }))
      const bytes = new Uint8Array([137, 80, 78, 71])
      yield* Predict.make(Describe)({
        photo: Signature.imageUrl("https://example.com/cat.png", "image/png"),
        extras: [Signature.imageBytes(bytes, "image/png"), Signature.imageUrl("data:image/jpeg;base64,/9j/4AAQ")],
        note: "be brief"
      }).pipe(Effect.provide(lm.layer))
      const prompt = lm.counters.prompts[0]!
      const user = prompt.content.at(-1)!
      assert.strictEqual(textOf(user).split("Respond with")[0], "[[ ## photo ## ]]\n<file>\n\n[[ ## extras ## ]]\n<file><file>\n\n[[ ## note ## ]]\nbe brief\n\n")
      const [photo, first, second] = fileParts(prompt)
      assert.strictEqual(photo!.mediaType, "image/png")
      assert.instanceOf(photo!.data, URL)
      assert.strictEqual(String(photo!.data), "https://example.com/cat.png")
      assert.deepStrictEqual([first!.mediaType, first!.data], ["image/png", "iVBORw=="])
      assert.deepStrictEqual([second!.mediaType, second!.data], ["image/jpeg", "/9j/4AAQ"])
      // the system message names the field's type
      assert.include(textOf(prompt.content[0]!), "`photo` (image)")
      assert.include(textOf(prompt.content[0]!), "`extras` (list of images, optional)")
    }))

  it.effect("the JSON adapter sends images the same way", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => JSON.stringify({ caption: "A cat." }))
      yield* Predict.make(Describe)({ photo: Signature.imageUrl("https://example.com/cat.png"), note: "n" }).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        Effect.provide(lm.layer)
      )
      const [photo] = fileParts(lm.counters.prompts[0]!)
      assert.strictEqual(photo!.mediaType, "image/*")
    }))

  it.effect("a value that is not an image is an InvalidInput naming the field", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "unused")
      const error = yield* Effect.flip(
        Predict.make(Describe)({ photo: { url: "not a url" }, note: "n" }).pipe(Effect.provide(lm.layer))
      )
      assert.instanceOf(error, DspyError.InvalidInput)
      if (error instanceof DspyError.InvalidInput) assert.strictEqual(error.field, "photo")
      assert.strictEqual(lm.counters.calls, 0)
    }))

  it("images and histories are inputs only", () => {
    const asOutput = Signature.makeEither("Bad", { input: { q: Schema.String }, output: { picture: Signature.Image } })
    assert.isTrue(Either.isLeft(asOutput))
    const historyOut = Signature.makeEither("Bad", { input: { q: Schema.String }, output: { h: Signature.History } })
    assert.isTrue(Either.isLeft(historyOut))
  })
})
