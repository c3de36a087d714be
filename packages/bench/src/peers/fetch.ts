/**
 * The floor: a bare `fetch` of `/v1/chat/completions` with a `json_schema` response format,
 * `JSON.parse` of the content, and a worker pool (the cheapest way to bound concurrency).
 */
import { answerJsonSchema, instructions, type Peer, toAnswer } from "./Peer.js"

/** Runs `task` over `items` with at most `concurrency` at once, keeping the order. */
const pool = async <A, B>(items: ReadonlyArray<A>, concurrency: number, task: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await task(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return out
}

const messages = (question: string) => [
  { role: "system", content: instructions },
  { role: "user", content: question }
]

export const make = (baseUrl: string): Peer => {
  const url = `${baseUrl}/chat/completions`
  const headers = { "content-type": "application/json", authorization: "Bearer sk-sim" }
  const ask = async (question: string) => {
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: "sim-1",
        messages: messages(question),
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: answerJsonSchema, strict: true } }
      })
    })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    const json = (await response.json()) as { choices: ReadonlyArray<{ message: { content: string } }> }
    return toAnswer(JSON.parse(json.choices[0]?.message.content ?? ""))
  }
  // Reads the SSE body line by line and joins the content deltas.
  const stream = async (question: string) => {
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "sim-1", stream: true, messages: messages(question) })
    })
    if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
    const decoder = new TextDecoder()
    let buffer = ""
    let text = ""
    const reader = response.body.getReader()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true })
      let newline: number
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim()
        buffer = buffer.slice(newline + 1)
        if (!line.startsWith("data:") || line === "data: [DONE]") continue
        const event = JSON.parse(line.slice(5)) as { choices: ReadonlyArray<{ delta: { content?: string | null } }> }
        text += event.choices[0]?.delta.content ?? ""
      }
    }
    return text
  }
  return {
    name: "fetch (floor)",
    how: "bare fetch, json_schema response_format, JSON.parse; worker pool",
    runAll: (questions, concurrency) => pool(questions, concurrency, ask),
    streamAll: (questions, concurrency) => pool(questions, concurrency, stream),
    close: async () => {}
  }
}
