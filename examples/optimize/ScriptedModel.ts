/**
 * The offline stand-in for a real model in the optimize example: a scripted "student" whose
 * accuracy depends on its prompt through a hidden rule the optimizers cannot read.
 *
 * A word problem is answered correctly with probability 0.95 when the instructions name what
 * its kind asks for (see `concepts`: "total", "difference", "product", "quotient",
 * "percentage") and a demo of the same kind with the right answer is in the prompt; 0.35 with
 * one of the two; 0.05 with neither. The draw is a hash of the prompt, so a prompt always gets
 * the same answer. The same model proposes instructions for Mipro (from a fixed list) and
 * reflects for GEPA (it adopts, with some noise, the concepts the feedback names).
 */
import { ChatAdapter, LmConfig } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { Effect, Layer } from "effect"
import { classify, concepts, type Kind } from "./WordProblems.js"

const kinds = Object.keys(concepts) as ReadonlyArray<Kind>

const proposals = [
  "Solve the arithmetic word problem. Answer with a single number.",
  "Find the total or the difference the problem asks for.",
  "Work out the product or the quotient of the two numbers, as the problem asks.",
  "Compute the percentage discount when a price is reduced.",
  "Find the total, the difference, the product, the quotient or the percentage the problem asks for.",
  "Read the problem twice, then answer with a number."
]

const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
  return ((h ^ (h >>> 12)) >>> 0) / 4294967296
}

const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string" ? message.content : message.content.map((p) => (p.type === "text" ? p.text : "")).join("")

const named = (text: string): Set<Kind> => new Set(kinds.filter((k) => new RegExp(`\\b${concepts[k]}\\b`, "i").test(text)))

const reply = (fields: Record<string, string>): Array<Response.PartEncoded> => {
  const text = [...Object.entries(fields).map(([k, v]) => `[[ ## ${k} ## ]]\n${v}`), "[[ ## completed ## ]]"].join("\n\n")
  const tokens = Math.ceil(text.length / 4)
  return [{ type: "text", text }, { type: "finish", reason: "stop", usage: { inputTokens: tokens, outputTokens: tokens, totalTokens: 2 * tokens } }]
}

/** The scripted model as a `LanguageModel` layer. */
export const layer: Layer.Layer<LanguageModel.LanguageModel> = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      Effect.map(LmConfig.LmConfig, (config) => {
        const messages = options.prompt.content
        const system = textOf(messages.find((m) => m.role === "system") ?? messages[0]!)
        const turns = messages.filter((m) => m.role !== "system").map(textOf)
        // The request is the last user turn (this model never needs a re-ask); demos come before.
        const request = ChatAdapter.sections(turns[turns.length - 1]!.split(/\n*Respond with the corresponding/)[0]!)
        const outputs = [...ChatAdapter.sections(system).keys()].filter((k) => k !== "completed" && !request.has(k))
        const draw = (salt: string) => hash(`${config.rolloutId ?? ""}|${config.temperature ?? ""}|${salt}|${turns.join("|")}|${system}`)
        const question = request.get("question")?.trim()
        const problem = question === undefined ? undefined : classify(question)
        if (problem !== undefined && outputs.includes("answer")) {
          const instructed = named(system).has(problem.kind)
          const demo = turns.slice(0, -1).some((turn, i, all) => {
            const q = ChatAdapter.sections(turn).get("question")?.trim()
            const example = q === undefined ? undefined : classify(q)
            const answer = Number(ChatAdapter.sections(all[i + 1] ?? "").get("answer"))
            return example !== undefined && example.kind === problem.kind && answer === example.answer
          })
          const p = instructed && demo ? 0.95 : instructed || demo ? 0.35 : 0.05
          const right = draw("answer") < p
          const answer = right ? problem.answer : problem.a + problem.b + 1
          return reply({ reasoning: `I work out the ${instructed ? concepts[problem.kind] : "result"}.`, answer: String(answer) })
        }
        if (outputs.includes("proposed_instruction")) {
          return reply({ proposed_instruction: proposals[Math.floor(draw("proposal") * proposals.length)]! })
        }
        if (outputs.includes("new_instruction")) {
          const current = request.get("current_instruction") ?? ""
          const feedback = request.get("examples_with_feedback") ?? ""
          const added = kinds.filter((k) => feedback.includes(`the ${concepts[k]} of`) && !named(current).has(k) && draw(k) < 0.8)
            .map((k) => `When the problem asks for a ${concepts[k]}, give the ${concepts[k]} of the two numbers.`)
          return reply({ new_instruction: [current, ...added].join(" ") })
        }
        return reply(Object.fromEntries(outputs.map((name) => [name, "Arithmetic word problems with two numbers each."])))
      }),
    streamText: () => {
      throw new Error("the scripted model does not stream")
    }
  })
)
