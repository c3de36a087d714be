/**
 * A scripted "student" language model for testing optimizers offline, honestly.
 *
 * The task: arithmetic questions of three kinds (`add 3 4`, `mul 3 4`, `sub 9 4`). The student
 * answers a question correctly with a probability that depends on its prompt through a hidden
 * rule the optimizers cannot read:
 * - the instructions mention the kind's concept ("sum", "product", "difference"), and
 * - a demo of the same kind with its correct answer is in the prompt.
 * Both: 0.95; one of them: 0.35; neither: 0.05. The draw is seeded by a hash of the whole prompt
 * (and the rollout id and temperature), so the same prompt always gets the same answer, as a
 * cached model's would, and a different prompt is a fresh draw.
 *
 * The same model also plays the proposer (MIPROv2's instruction proposals, drawn from a fixed
 * pool), the reflection model (GEPA: it adopts, with some noise, the concepts that the feedback
 * mentions) and answers any other step (data summaries, descriptions) with plain text.
 * It counts its calls by role.
 */
import { LmConfig } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { Effect, Layer } from "effect"
import { Example } from "../../src/index.js"

export type Kind = "add" | "mul" | "sub"
export const kinds: ReadonlyArray<Kind> = ["add", "mul", "sub"]
export const concepts: Record<Kind, string> = { add: "sum", mul: "product", sub: "difference" }

const compute = (kind: Kind, a: number, b: number) => (kind === "add" ? a + b : kind === "mul" ? a * b : a - b)

/** Reads `kind a b`; undefined for anything else. */
export const parseQuestion = (question: string) => {
  const match = /^(add|mul|sub) (-?\d+) (-?\d+)$/.exec(question.trim())
  if (match === null) return undefined
  const kind = match[1] as Kind
  const a = Number(match[2])
  const b = Number(match[3])
  return { kind, a, b, truth: compute(kind, a, b) }
}

/** `n` questions cycling through the kinds, numbers from a seed. */
export const makeProblems = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => {
    const kind = kinds[i % kinds.length]!
    const a = 2 + ((i * 7 + seed * 13) % 40)
    const b = 1 + ((i * 11 + seed * 5) % 9)
    const question = `${kind} ${a} ${b}`
    return Example.make({ question }, { answer: compute(kind, a, b) })
  })

const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return (h >>> 0) / 4294967296
}

const markerPattern = /\[\[ ## ([A-Za-z_][A-Za-z0-9_]*) ## \]\]/g

/** The marked sections of a text (the chat adapter's field format). */
export const sections = (text: string): Map<string, string> => {
  const found = new Map<string, string>()
  const matches = [...text.matchAll(markerPattern)]
  for (let i = 0; i < matches.length; i++) {
    const match = matches[i]!
    const start = match.index + match[0].length
    const end = i + 1 < matches.length ? matches[i + 1]!.index : text.length
    if (!found.has(match[1]!)) found.set(match[1]!, text.slice(start, end).trim())
  }
  return found
}

const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string"
    ? message.content
    : message.content.map((part) => (part.type === "text" ? part.text : "")).join("")

const reply = (fields: Record<string, string>): Array<Response.PartEncoded> => {
  const text = [...Object.entries(fields).map(([name, value]) => `[[ ## ${name} ## ]]\n${value}`), "[[ ## completed ## ]]"].join("\n\n")
  return [
    { type: "text", text },
    {
      type: "finish",
      reason: "stop",
      usage: { inputTokens: Math.ceil(text.length / 4), outputTokens: Math.ceil(text.length / 4), totalTokens: Math.ceil(text.length / 2) }
    }
  ]
}

export interface Options {
  readonly seed?: number
  /** Probabilities of a correct answer with both, one or none of the hidden conditions. */
  readonly pBoth?: number
  readonly pOne?: number
  readonly pNone?: number
  /** A model that can only copy: right exactly when a demo has the same question. */
  readonly copyOnly?: boolean
  /**
   * The proposer's replies, by the order in which proposals (distinct rollout ids) arrive;
   * `null` is a reply without field markers (unreadable). Default: drawn from `proposalPool`
   * by a hash of the prompt.
   */
  readonly proposals?: ReadonlyArray<string | null>
  /** Chance that a reflection keeps a concept the feedback names (default 0.8). */
  readonly adopt?: number
  /** Chance that a reflection forgets the instruction it was given (default 0.15). */
  readonly forget?: number
}

/** The instructions the default proposer draws from. */
export const proposalPool: ReadonlyArray<string> = [
  "Answer the question.",
  "Compute the sum when asked to add.",
  "Compute the product when asked to multiply.",
  "Compute the difference when asked to subtract.",
  "Give the sum, the product or the difference of the two numbers, as the question asks.",
  "Compute the sum or the product of the two numbers.",
  "Read the question carefully and answer with a number."
]

/** The concepts an instruction mentions. */
export const conceptsIn = (instructions: string): Set<Kind> =>
  new Set(kinds.filter((kind) => new RegExp(`\\b${concepts[kind]}\\b`, "i").test(instructions)))

export interface Counts {
  student: number
  proposer: number
  reflection: number
  other: number
  /** Student calls whose prompt held a demo with the very question asked (a leak). */
  leaked: number
}

/** The scripted model and its call counts. */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const seed = options.seed ?? 0
    const counts: Counts = { student: 0, proposer: 0, reflection: 0, other: 0, leaked: 0 }
    const proposalOrder = new Map<string, number>()
    const model = yield* LanguageModel.make({
      generateText: (provider) =>
        Effect.map(LmConfig.LmConfig, (config) => {
          const messages = provider.prompt.content
          const system = messages.find((m) => m.role === "system")
          const systemText = system === undefined ? "" : textOf(system)
          const turns = messages.filter((m) => m.role !== "system")
          // The request's inputs: the first user message after the demos (the last user
          // message, unless the adapter re-asked after an unreadable reply).
          const demoPairs: Array<{ readonly inputs: Map<string, string>; readonly outputs: Map<string, string> }> = []
          let k = 0
          while (k + 1 < turns.length && turns[k]!.role === "user" && turns[k + 1]!.role === "assistant") {
            const inputs = sections(textOf(turns[k]!))
            const outputs = sections(textOf(turns[k + 1]!))
            // A demo pair is followed by another user message; the request is followed by
            // nothing, or by a failed reply and the adapter's re-ask.
            if (k + 2 >= turns.length || textOf(turns[k + 2]!).startsWith("Your previous reply")) break
            demoPairs.push({ inputs, outputs })
            k += 2
          }
          // The request's own fields, without the adapter's closing line (which names the outputs).
          const request = turns[k] === undefined
            ? new Map<string, string>()
            : sections(textOf(turns[k]!).split(/\n*Respond with the corresponding output fields/)[0]!)
          const outputs = [...sections(systemText).keys()].filter((name) => name !== "completed" && !request.has(name))
          const noise = `${seed}|${config.rolloutId ?? ""}|${config.temperature ?? ""}`
          const question = request.get("question")

          if (question !== undefined && outputs.includes("answer")) {
            counts.student++
            const parsed = parseQuestion(question)
            if (parsed === undefined) return reply({ reasoning: "I cannot read the question.", answer: "0" })
            if (demoPairs.some((d) => d.inputs.get("question") === question)) counts.leaked++
            if (options.copyOnly === true) {
              const copied = demoPairs.find((d) => d.inputs.get("question") === question)?.outputs.get("answer")
              return reply({ reasoning: "I copy the demo.", answer: copied ?? String(parsed.truth + 1) })
            }
            const mentions = conceptsIn(systemText).has(parsed.kind)
            const demo = demoPairs.some((d) => {
              const q = parseQuestion(d.inputs.get("question") ?? "")
              return q !== undefined && q.kind === parsed.kind && Number(d.outputs.get("answer")) === q.truth
            })
            const p = mentions && demo ? options.pBoth ?? 0.95 : mentions || demo ? options.pOne ?? 0.35 : options.pNone ?? 0.05
            const draw = hash(`${noise}|${messages.map(textOf).join("\u0000")}`)
            const answer = draw < p ? parsed.truth : parsed.truth + 1 + Math.floor(draw * 5)
            return reply({ reasoning: `I work out the ${mentions ? concepts[parsed.kind] : "result"}.`, answer: String(answer) })
          }

          if (outputs.includes("proposed_instruction")) {
            counts.proposer++
            const key = `${config.rolloutId ?? ""}|${turns[0] === undefined ? "" : textOf(turns[0])}`
            if (options.proposals !== undefined) {
              if (!proposalOrder.has(key)) proposalOrder.set(key, proposalOrder.size)
              const text = options.proposals[proposalOrder.get(key)! % options.proposals.length]
              return text === null || text === undefined
                ? [{ type: "text", text: "I would rather not say." }, { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }]
                : reply({ proposed_instruction: text })
            }
            return reply({ proposed_instruction: proposalPool[Math.floor(hash(`${seed}|${key}`) * proposalPool.length)]! })
          }

          if (outputs.includes("new_instruction")) {
            counts.reflection++
            const current = request.get("current_instruction") ?? ""
            const feedback = request.get("examples_with_feedback") ?? ""
            const draw = (salt: string) => hash(`${noise}|${salt}|${current}|${feedback}`)
            const named = kinds.filter((kind) => feedback.includes(`the ${concepts[kind]} of`))
            const kept = draw("forget") < (options.forget ?? 0.15) ? "Answer the question." : current
            const added = named.filter((kind) => !conceptsIn(kept).has(kind) && draw(kind) < (options.adopt ?? 0.8))
              .map((kind) => `When the question says ${kind}, give the ${concepts[kind]} of the two numbers.`)
            return reply({ new_instruction: [kept, ...added].join(" ") })
          }

          counts.other++
          return reply(Object.fromEntries(outputs.map((name) => [name, `Arithmetic questions with two numbers (${name}).`])))
        }),
      streamText: () => {
        throw new Error("the scripted student does not stream")
      }
    })
    return { model, counts }
  })

/** The scripted model as a layer, with its counts. */
export const layer = (options: Options = {}) =>
  Effect.map(make(options), ({ counts, model }) => ({ counts, layer: Layer.succeed(LanguageModel.LanguageModel, model) }))

/** What the hidden rule says of a program state: does it reach the optimum for every kind? */
export const isOptimal = (instructions: string, demos: ReadonlyArray<Readonly<Record<string, unknown>>>): boolean => {
  const mentioned = conceptsIn(instructions)
  return kinds.every((kind) =>
    mentioned.has(kind) &&
    demos.some((d) => {
      const q = parseQuestion(String(d["question"] ?? ""))
      return q !== undefined && q.kind === kind && Number(d["answer"]) === q.truth
    })
  )
}

/** A metric with GEPA-style feedback: says which concept a wrong answer needed. */
export const feedbackMetric = (
  example: Example.Example<{ readonly question: string }, { readonly answer: number }>,
  prediction: { readonly output: { readonly answer: number } }
) => {
  const parsed = parseQuestion(example.input.question)
  if (prediction.output.answer === example.expected.answer) return { score: 1, feedback: "Correct." }
  return {
    score: 0,
    feedback: `Wrong: expected ${example.expected.answer}.${
      parsed === undefined ? "" : ` The question asks for the ${concepts[parsed.kind]} of the two numbers.`
    }`
  }
}
