/**
 * The official `openai` SDK: `chat.completions.parse` with `zodResponseFormat` (the SDK's typed
 * structured output), bounded with `p-limit` (the SDK has no concurrency limit of its own). The
 * client keeps its shipped retry policy (2 retries, with its per-request timeout), as the
 * effect-dspy peer keeps `Lm.layer`'s (4 retries, a timeout per attempt): a successful call pays
 * for what a policy costs when nothing fails.
 */
import OpenAI from "openai"
import { zodResponseFormat } from "openai/helpers/zod"
import pLimit from "p-limit"
import { z } from "zod"
import { instructions, type Peer } from "./Peer.js"

const Answer = z.object({ answer: z.string() })
const format = zodResponseFormat(Answer, "answer")

export const make = (baseUrl: string): Peer => {
  const client = new OpenAI({ baseURL: baseUrl, apiKey: "sk-sim" })
  const messages = (question: string) => [
    { role: "system" as const, content: instructions },
    { role: "user" as const, content: question }
  ]
  const ask = async (question: string) => {
    const completion = await client.chat.completions.parse({ model: "sim-1", messages: messages(question), response_format: format })
    const parsed = completion.choices[0]?.message.parsed
    if (parsed == null) throw new Error("no parsed answer")
    return parsed
  }
  const stream = async (question: string) => {
    const chunks = await client.chat.completions.create({ model: "sim-1", messages: messages(question), stream: true })
    let text = ""
    for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? ""
    return text
  }
  return {
    name: "openai SDK + p-limit",
    how: "chat.completions.parse + zodResponseFormat; p-limit",
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
