/**
 * LangChain.js: `ChatOpenAI.withStructuredOutput` (a zod schema, JSON-schema method) and the
 * library's own limit, `maxConcurrency` (its AsyncCaller queue). Batches go through `batch`,
 * streams through `stream`, both under that one limit, as a LangChain user would write it.
 */
import type { BaseMessageLike } from "@langchain/core/messages"
import { ChatOpenAI } from "@langchain/openai"
import { z } from "zod"
import { instructions, type Peer } from "./Peer.js"

const Answer = z.object({ answer: z.string() })

export const make = (baseUrl: string): Peer => {
  const chat = (concurrency: number) =>
    new ChatOpenAI({ model: "sim-1", apiKey: "sk-sim", configuration: { baseURL: baseUrl }, maxRetries: 0, maxConcurrency: concurrency })
  const messages = (question: string): Array<BaseMessageLike> => [["system", instructions], ["human", question]]
  return {
    name: "LangChain.js",
    how: "ChatOpenAI.withStructuredOutput (zod, jsonSchema) .batch; its own maxConcurrency",
    runAll: (questions, concurrency) => {
      const structured = chat(concurrency).withStructuredOutput(Answer, { name: "answer", method: "jsonSchema" })
      return structured.batch(questions.map(messages), { maxConcurrency: concurrency })
    },
    streamAll: (questions, concurrency) => {
      const model = chat(concurrency)
      return Promise.all(questions.map(async (q) => {
        let text = ""
        for await (const chunk of await model.stream(messages(q))) text += chunk.text
        return text
      }))
    },
    close: async () => {}
  }
}
