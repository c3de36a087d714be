// One process of the LmCache persistence test: asks once through a cache over the directory given
// as its argument and prints how many calls reached the model, and the reply.
import * as LanguageModel from "@effect/ai/LanguageModel"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { LmCache } from "../../src/index.js"
import * as ScriptedLm from "./ScriptedLm.js"

const directory = process.argv[2]!
const lm = ScriptedLm.make((prompt, call) => `reply ${call} to ${ScriptedLm.lastUserText(prompt)}`)
const model = LmCache.layerFileSystem(directory).pipe(Layer.provide([lm.layer, NodeContext.layer]))
const reply = await Effect.runPromise(LanguageModel.generateText({ prompt: "across processes" }).pipe(Effect.provide(model)))
console.log(JSON.stringify({ calls: lm.counters.calls, text: reply.text }))
