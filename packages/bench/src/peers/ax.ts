/**
 * `@ax-llm/ax`: a typed signature `ax("question:string -> answer:string")` forwarded through its
 * OpenAI provider pointed at the simulator (its model names are an enum; the simulator answers any),
 * bounded with `p-limit` (ax has no limit of its own
 * for independent `forward` calls). Ax prompts with its own field format, not a JSON schema.
 */
import { ai, ax, AxAIOpenAIModel } from "@ax-llm/ax"
import pLimit from "p-limit"
import { instructions, type Peer } from "./Peer.js"

export const make = (baseUrl: string): Peer => {
  const llm = ai({ name: "openai", apiKey: "sk-sim", apiURL: baseUrl, config: { model: AxAIOpenAIModel.GPT4OMini } })
  const qa = ax("question:string -> answer:string", { description: instructions })
  const ask = async (question: string) => {
    const out = await qa.forward(llm, { question })
    return { answer: out.answer }
  }
  const stream = async (question: string) => {
    let text = ""
    for await (const chunk of qa.streamingForward(llm, { question })) text += chunk.delta.answer ?? ""
    return text
  }
  return {
    name: "ax",
    how: "ax(\"question:string -> answer:string\").forward, OpenAI provider; p-limit",
    runAll: (questions, concurrency) => {
      const limit = pLimit(concurrency)
      return Promise.all(questions.map((q) => limit(() => ask(q))))
    },
    streamAll: (questions, concurrency) => {
      const limit = pLimit(concurrency)
      return Promise.all(questions.map((q) => limit(() => stream(q))))
    },
    close: async () => {}
  }
}
