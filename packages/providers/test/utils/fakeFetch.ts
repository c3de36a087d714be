/**
 * A scripted `fetch` for tests: records every request and answers from a list of
 * responders (the last one repeats). Runs the real FetchHttpClient code.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Layer from "effect/Layer"

export interface Recorded {
  readonly url: string
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: unknown
}

export type Responder = (request: Recorded, signal: AbortSignal | undefined) => Response | Promise<Response>

export interface FakeFetch {
  readonly requests: Array<Recorded>
  readonly layer: Layer.Layer<HttpClient.HttpClient>
}

export const makeFakeFetch = (responders: ReadonlyArray<Responder>): FakeFetch => {
  const requests: Array<Recorded> = []
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value
    })
    const text = typeof init?.body === "string" ? init.body : init?.body instanceof Uint8Array ? new TextDecoder().decode(init.body) : ""
    const recorded: Recorded = {
      url: input.toString(),
      method: init?.method ?? "GET",
      headers,
      body: text === "" ? undefined : JSON.parse(text)
    }
    const index = requests.length
    requests.push(recorded)
    const responder = responders[Math.min(index, responders.length - 1)]
    if (responder === undefined) throw new Error("no responder")
    return responder(recorded, init?.signal ?? undefined)
  }
  return {
    requests,
    layer: FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch as typeof globalThis.fetch)))
  }
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Responder => () =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

export const text = (status: number, body: string, headers: Record<string, string> = {}): Responder => () =>
  new Response(body, { status, headers: { "content-type": "text/plain", ...headers } })

/** An SSE response from a list of `data:` payloads; `cutAfter` closes the body with an error after that many events. */
export const sse = (events: ReadonlyArray<unknown>, options: { readonly error?: boolean } = {}): Responder => () => {
  const encoder = new TextEncoder()
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const event of events) {
        const data = typeof event === "string" ? event : JSON.stringify(event)
        controller.enqueue(encoder.encode(`data: ${data}\n\n`))
      }
      if (options.error === true) controller.error(new TypeError("terminated"))
      else controller.close()
    }
  })
  return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream" } })
}

export const transportError = (message = "fetch failed", code = "ECONNRESET"): Responder => () => {
  const error = new TypeError(message)
  Object.assign(error, { cause: Object.assign(new Error(`read ${code}`), { code }) })
  throw error
}

export const chatCompletion = (
  message: Record<string, unknown>,
  options: { readonly finish?: string; readonly usage?: Record<string, unknown> } = {}
) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "test-model",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: options.finish ?? "stop" }],
  usage: options.usage ?? { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }
})
