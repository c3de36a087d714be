/**
 * The Vercel AI SDK: `generateText` with `Output.object` (a zod schema) over
 * `@ai-sdk/openai-compatible` with structured outputs on (so it sends a `json_schema` response
 * format), bounded with `p-limit` (the SDK has no concurrency limit of its own).
 */
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateText, Output, streamText } from "ai"
import pLimit from "p-limit"
import { z } from "zod"
import { instructions, type Peer } from "./Peer.js"

const output = Output.object({ schema: z.object({ answer: z.string() }) })

export const make = (baseUrl: string): Peer => {
  const provider = createOpenAICompatible({ name: "simulator", baseURL: baseUrl, apiKey: "sk-sim", supportsStructuredOutputs: true })
  const model = provider.chatModel("sim-1")
  const ask = async (question: string) => {
    const result = await generateText({ model, system: instructions, prompt: question, output, maxRetries: 0 })
    return result.output
  }
  const stream = async (question: string) => {
    const result = streamText({ model, system: instructions, prompt: question, maxRetries: 0 })
    let text = ""
    for await (const delta of result.textStream) text += delta
    return text
  }
  return {
    name: "Vercel AI SDK + p-limit",
    how: "generateText + Output.object (zod), @ai-sdk/openai-compatible; p-limit",
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
