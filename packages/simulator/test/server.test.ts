import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, JSONSchema, Option, Schema, TestClock } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"
import { SimulatorServer } from "../src/index.js"
import { sections, system, userInputs } from "./fixtures.js"
import { eventually, get, parseSse, post } from "./http.js"

const withServer = <A, E>(
  options: SimulatorServer.Options,
  f: (server: SimulatorServer.Service) => Effect.Effect<A, E>
): Effect.Effect<A, E | import("@effect/platform/HttpServerError").ServeError> =>
  Effect.flatMap(SimulatorServer.SimulatorServer, f).pipe(Effect.provide(SimulatorServer.layer(options)))

const chatMessages = [
  { role: "system", content: system },
  { role: "user", content: userInputs("What is 2+2?", "happy") }
]
const anthropicHeaders = { "anthropic-version": "2023-06-01" }

const Order = Schema.Struct({
  item: Schema.Literal("latte", "mocha"),
  shots: Schema.Int.pipe(Schema.between(1, 3)),
  extras: Schema.Array(Schema.String)
})
const orderSchema = JSONSchema.make(Order)
const decodeOrder = Schema.decodeUnknownEither(Schema.parseJson(Order))

const weatherTool = {
  name: "get_weather",
  description: "Weather of a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
    required: ["city", "unit"],
    additionalProperties: false
  }
}

describe("SimulatorServer", () => {
  it.effect("listens on an ephemeral loopback port and reports its URL", () =>
    withServer({}, (server) =>
      Effect.gen(function*() {
        assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        const models = yield* get(`${server.url}/v1/models`)
        assert.strictEqual(JSON.parse(models.text).data[0].id, "sim-1")
      })))

  describe("OpenAI chat completions", () => {
    it.effect("answers a field-marker prompt (not streaming)", () =>
      withServer({ model: "sim-test" }, (server) =>
        Effect.gen(function*() {
          const r = yield* post(`${server.url}/v1/chat/completions`, { model: "gpt-4o-mini", messages: chatMessages })
          assert.strictEqual(r.status, 200)
          const body = JSON.parse(r.text)
          assert.strictEqual(body.object, "chat.completion")
          assert.strictEqual(body.model, "sim-test")
          assert.strictEqual(body.choices[0].finish_reason, "stop")
          assert.deepStrictEqual(sections(body.choices[0].message.content).map(([n]) => n), ["reasoning", "answer", "completed"])
          assert.strictEqual(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens)
        })))

    it.effect("streams chunks, a usage chunk and [DONE], with the same content", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const whole = JSON.parse((yield* post(`${server.url}/v1/chat/completions`, { model: "m", messages: chatMessages })).text)
          const r = yield* post(`${server.url}/v1/chat/completions`, {
            model: "m",
            messages: chatMessages,
            stream: true,
            stream_options: { include_usage: true }
          })
          assert.strictEqual(r.status, 200)
          assert.match(r.headers.get("content-type") ?? "", /text\/event-stream/)
          const events = parseSse(r.text)
          assert.strictEqual(events[events.length - 1]!.data, "[DONE]")
          const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data))
          assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk"))
          assert.strictEqual(chunks[0].choices[0].delta.role, "assistant")
          const usageChunk = chunks[chunks.length - 1]
          assert.deepStrictEqual(usageChunk.choices, [])
          assert.strictEqual(usageChunk.usage.completion_tokens, whole.usage.completion_tokens)
          const finish = chunks[chunks.length - 2]
          assert.strictEqual(finish.choices[0].finish_reason, "stop")
          const content = chunks.flatMap((c) => c.choices.map((ch: { delta: { content?: string } }) => ch.delta.content ?? "")).join("")
          assert.strictEqual(content, whole.choices[0].message.content)
        })))

    it.effect("returns an instance of response_format json_schema", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          for (const drink of ["latte", "mocha", "tea", "water"]) {
            const r = yield* post(`${server.url}/v1/chat/completions`, {
              model: "m",
              messages: [{ role: "user", content: `Order a ${drink}` }],
              response_format: { type: "json_schema", json_schema: { name: "Order", schema: orderSchema, strict: true } }
            })
            const content = JSON.parse(r.text).choices[0].message.content
            assert.isTrue(Either.isRight(decodeOrder(content)), content)
          }
        })))

    it.effect("calls a required tool, streaming and not", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const request = {
            model: "m",
            messages: [{ role: "user", content: "Weather in Lisbon?" }],
            tools: [{ type: "function", function: weatherTool }],
            tool_choice: "required"
          }
          const body = JSON.parse((yield* post(`${server.url}/v1/chat/completions`, request)).text)
          const call = body.choices[0].message.tool_calls[0]
          assert.strictEqual(body.choices[0].finish_reason, "tool_calls")
          assert.strictEqual(call.function.name, "get_weather")
          const args = JSON.parse(call.function.arguments)
          assert.isString(args.city)
          assert.include(["c", "f"], args.unit)

          const streamed = parseSse((yield* post(`${server.url}/v1/chat/completions`, { ...request, stream: true })).text)
          const deltas = streamed.slice(0, -1).map((e) => JSON.parse(e.data).choices[0].delta)
          // no text: content is null from the first delta on, as in the whole reply
          assert.strictEqual(body.choices[0].message.content, null)
          assert.deepStrictEqual(deltas[0], { role: "assistant", content: null, refusal: null })
          const argText = deltas.flatMap((d) => d.tool_calls?.map((t: { function: { arguments: string } }) => t.function.arguments) ?? []).join("")
          assert.strictEqual(argText, call.function.arguments)
        })))
  })

  describe("OpenAI Responses", () => {
    it.effect("answers and streams the typed events in order", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const request = { model: "m", instructions: system, input: userInputs("What is 2+2?", "happy") }
          const body = JSON.parse((yield* post(`${server.url}/v1/responses`, request)).text)
          assert.strictEqual(body.object, "response")
          assert.strictEqual(body.status, "completed")
          const text = body.output[0].content[0].text
          assert.deepStrictEqual(sections(text).map(([n]) => n), ["reasoning", "answer", "completed"])

          const events = parseSse((yield* post(`${server.url}/v1/responses`, { ...request, stream: true })).text)
          const types = events.map((e) => e.event)
          assert.deepStrictEqual(types.slice(0, 4), [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added"
          ])
          assert.deepStrictEqual(types.slice(-4), [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
          ])
          const datas = events.map((e) => JSON.parse(e.data))
          assert.isTrue(datas.every((d, i) => d.type === events[i]!.event && d.sequence_number === i))
          const streamed = datas.filter((d) => d.type === "response.output_text.delta").map((d) => d.delta).join("")
          assert.strictEqual(streamed, text)
          assert.deepStrictEqual(datas[datas.length - 1].response.usage, body.usage)
        })))

    it.effect("honours text.format json_schema and forced function tools", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const structured = JSON.parse((yield* post(`${server.url}/v1/responses`, {
            model: "m",
            input: [{ role: "user", content: [{ type: "input_text", text: "Order a coffee" }] }],
            text: { format: { type: "json_schema", name: "Order", schema: orderSchema, strict: true } }
          })).text)
          assert.isTrue(Either.isRight(decodeOrder(structured.output[0].content[0].text)))

          const called = JSON.parse((yield* post(`${server.url}/v1/responses`, {
            model: "m",
            input: "Weather?",
            tools: [{ type: "function", ...weatherTool, strict: true }],
            tool_choice: { type: "function", name: "get_weather" }
          })).text)
          assert.strictEqual(called.output[0].type, "function_call")
          assert.strictEqual(called.output[0].name, "get_weather")
          assert.include(["c", "f"], JSON.parse(called.output[0].arguments).unit)
        })))
  })

  describe("Anthropic Messages", () => {
    it.effect("answers and streams message events with event: lines", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const request = {
            model: "claude",
            max_tokens: 1024,
            system,
            messages: [{ role: "user", content: userInputs("What is 2+2?", "happy") }]
          }
          const body = JSON.parse((yield* post(`${server.url}/v1/messages`, request, anthropicHeaders)).text)
          assert.strictEqual(body.type, "message")
          assert.strictEqual(body.stop_reason, "end_turn")
          const text = body.content[0].text
          assert.deepStrictEqual(sections(text).map(([n]) => n), ["reasoning", "answer", "completed"])

          const events = parseSse((yield* post(`${server.url}/v1/messages`, { ...request, stream: true }, anthropicHeaders)).text)
          const types = events.map((e) => e.event)
          assert.deepStrictEqual(types.slice(0, 2), ["message_start", "content_block_start"])
          assert.deepStrictEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"])
          const datas = events.map((e) => JSON.parse(e.data))
          assert.isTrue(datas.every((d, i) => d.type === events[i]!.event))
          const streamed = datas.filter((d) => d.type === "content_block_delta").map((d) => d.delta.text).join("")
          assert.strictEqual(streamed, text)
          assert.strictEqual(datas[datas.length - 2].usage.output_tokens, body.usage.output_tokens)
        })))

    it.effect("uses a forced tool for structured output", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const body = JSON.parse((yield* post(`${server.url}/v1/messages`, {
            model: "claude",
            max_tokens: 1024,
            messages: [{ role: "user", content: "Order a coffee" }],
            tools: [{ name: "Order", description: "Respond with a JSON object", input_schema: orderSchema }],
            tool_choice: { type: "tool", name: "Order" }
          }, anthropicHeaders)).text)
          assert.strictEqual(body.stop_reason, "tool_use")
          assert.strictEqual(body.content[0].type, "tool_use")
          assert.match(body.content[0].id, /^toolu_/)
          assert.isTrue(Either.isRight(decodeOrder(JSON.stringify(body.content[0].input))))
        })))
  })

  it.effect("paced streams (time to first token, tokens per second) send the same bytes over the test clock", () =>
    Effect.gen(function*() {
      const request = { model: "m", messages: chatMessages, stream: true }
      const unpaced = yield* withServer({}, (server) => post(`${server.url}/v1/chat/completions`, request))
      const paced = yield* withServer({ timeToFirstTokenMillis: 300, tokensPerSecond: 20 }, (server) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(post(`${server.url}/v1/chat/completions`, request))
          yield* eventually(server.counters, (c) => c.inFlight === 1)
          for (let i = 0; i < 600 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
            yield* TestClock.adjust("1 second")
            yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          }
          return yield* Fiber.join(fiber)
        }))
      assert.strictEqual(paced.status, 200)
      assert.strictEqual(paced.text, unpaced.text)
    }))

  describe("errors", () => {
    it.effect("answers bad requests with each API's status and error body", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const noMessages = yield* post(`${server.url}/v1/chat/completions`, { model: "m" })
          assert.strictEqual(noMessages.status, 400)
          assert.deepStrictEqual(JSON.parse(noMessages.text), {
            error: {
              message: "Missing required parameter: 'messages'.",
              type: "invalid_request_error",
              param: "messages",
              code: "missing_required_parameter"
            }
          })
          const badRole = JSON.parse((yield* post(`${server.url}/v1/chat/completions`, { model: "m", messages: [{ role: "robot", content: "x" }] })).text)
          assert.strictEqual(badRole.error.param, "messages[0].role")
          const badJson = yield* post(`${server.url}/v1/responses`, "{not json")
          assert.strictEqual(badJson.status, 400)
          assert.strictEqual(JSON.parse(badJson.text).error.type, "invalid_request_error")
          const noMaxTokens = yield* post(`${server.url}/v1/messages`, { model: "c", messages: [] }, anthropicHeaders)
          assert.strictEqual(noMaxTokens.status, 400)
          assert.deepStrictEqual(JSON.parse(noMaxTokens.text), {
            type: "error",
            error: { type: "invalid_request_error", message: "max_tokens: Field required" }
          })
          const notFound = yield* post(`${server.url}/v1/nope`, {})
          assert.strictEqual(notFound.status, 404)
          assert.strictEqual(JSON.parse(notFound.text).error.message, "Invalid URL (POST /v1/nope)")
          const counters = yield* server.counters
          assert.strictEqual(counters.badRequests, 4)
          assert.strictEqual(counters.inFlight, 0)
          assert.strictEqual(counters.abortedByClient, 0)
        })))

    it.effect("refuses a body over 10 MiB with 413; the query string does not change the route; GET is not an API call", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const huge = yield* post(`${server.url}/v1/chat/completions`, {
            model: "m",
            messages: [{ role: "user", content: "x".repeat(10 * 1024 * 1024) }]
          })
          assert.strictEqual(huge.status, 413)
          assert.strictEqual(JSON.parse(huge.text).error.message, "The request body is larger than 10 MiB.")
          const withQuery = yield* post(`${server.url}/v1/chat/completions?trace=1`, { model: "m", messages: chatMessages })
          assert.strictEqual(withQuery.status, 200)
          assert.strictEqual(JSON.parse(withQuery.text).object, "chat.completion")
          const viaGet = yield* get(`${server.url}/v1/chat/completions`)
          assert.strictEqual(viaGet.status, 404)
          const counters = yield* server.counters
          // a refused request failed: the client did not go away
          assert.deepStrictEqual(
            [counters.requests, counters.badRequests, counters.completed, counters.inFlight, counters.abortedByClient],
            [2, 1, 1, 0, 0]
          )
        })))

    it.effect("requires the API key when one is set", () =>
      withServer({ apiKey: "sk-sim-secret" }, (server) =>
        Effect.gen(function*() {
          const body = { model: "m", messages: [{ role: "user", content: "hi" }] }
          const missing = yield* post(`${server.url}/v1/chat/completions`, body)
          assert.strictEqual(missing.status, 401)
          assert.strictEqual(JSON.parse(missing.text).error.code, "invalid_api_key")
          const wrong = yield* post(`${server.url}/v1/chat/completions`, body, { authorization: "Bearer nope" })
          assert.strictEqual(wrong.status, 401)
          const ok = yield* post(`${server.url}/v1/chat/completions`, body, { authorization: "Bearer sk-sim-secret" })
          assert.strictEqual(ok.status, 200)
          const anthropic = yield* post(
            `${server.url}/v1/messages`,
            { model: "c", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
            { ...anthropicHeaders, "x-api-key": "bad" }
          )
          assert.strictEqual(anthropic.status, 401)
          assert.strictEqual(JSON.parse(anthropic.text).error.type, "authentication_error")
          assert.strictEqual((yield* server.counters).unauthorized, 3)
        })))
  })

  describe("faults and limits", () => {
    it.effect("429 with Retry-After and retry-after-ms", () =>
      withServer({ faults: { rateLimit: 1, retryAfterSeconds: 3 } }, (server) =>
        Effect.gen(function*() {
          const r = yield* post(`${server.url}/v1/chat/completions`, { model: "m", messages: [{ role: "user", content: "hi" }] })
          assert.strictEqual(r.status, 429)
          assert.strictEqual(r.headers.get("retry-after"), "3")
          assert.strictEqual(r.headers.get("retry-after-ms"), "3000")
          assert.strictEqual(JSON.parse(r.text).error.code, "rate_limit_exceeded")
          const a = yield* post(`${server.url}/v1/messages`, { model: "c", max_tokens: 5, messages: [] }, anthropicHeaders)
          assert.strictEqual(a.status, 429)
          assert.strictEqual(JSON.parse(a.text).error.type, "rate_limit_error")
          assert.strictEqual((yield* server.counters).rateLimited, 2)
        })))

    it.effect("server errors, resets, truncated streams and malformed answers", () =>
      Effect.gen(function*() {
        const body = { model: "m", messages: chatMessages, stream: true }
        yield* withServer({ faults: { serverError: 1 } }, (server) =>
          Effect.gen(function*() {
            const r = yield* post(`${server.url}/v1/chat/completions`, body)
            assert.include([500, 503], r.status)
            assert.strictEqual(JSON.parse(r.text).error.type, "server_error")
          }))
        // Anthropic answers "overloaded" with 529 (`overloaded_error`), never 503
        yield* withServer({ faults: { serverError: 1 } }, (server) =>
          Effect.gen(function*() {
            const statuses = new Set<number>()
            for (let i = 0; i < 12; i++) {
              const r = yield* post(`${server.url}/v1/messages`, { model: "c", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }, anthropicHeaders)
              statuses.add(r.status)
              const type = JSON.parse(r.text).error.type
              assert.strictEqual(type, r.status === 529 ? "overloaded_error" : "api_error")
            }
            assert.deepStrictEqual([...statuses].sort(), [500, 529])
          }))
        yield* withServer({ faults: { reset: 1 } }, (server) =>
          Effect.gen(function*() {
            const r = yield* Effect.either(Effect.tryPromise(() => fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: "{}" })))
            assert.isTrue(Either.isLeft(r))
            const counters = yield* server.counters
            assert.strictEqual(counters.resets, 1)
            assert.strictEqual(counters.abortedByClient, 0)
          }))
        yield* withServer({ faults: { truncate: 1 } }, (server) =>
          Effect.gen(function*() {
            const r = yield* post(`${server.url}/v1/chat/completions`, body)
            assert.notInclude(r.text, "[DONE]")
            assert.notInclude(r.text, "\"finish_reason\":\"stop\"")
            assert.include(r.text, "\"content\":")
            assert.strictEqual((yield* server.counters).truncated, 1)
          }))
        yield* withServer({ faults: { malformed: 1 } }, (server) =>
          Effect.gen(function*() {
            const r = JSON.parse((yield* post(`${server.url}/v1/chat/completions`, { model: "m", messages: chatMessages })).text)
            assert.notInclude(r.choices[0].message.content, "[[ ## completed ## ]]")
            const j = JSON.parse((yield* post(`${server.url}/v1/chat/completions`, {
              model: "m",
              messages: [{ role: "user", content: "order" }],
              response_format: { type: "json_schema", json_schema: { name: "Order", schema: orderSchema } }
            })).text)
            assert.isTrue(Either.isLeft(decodeOrder(j.choices[0].message.content)))
          }))
      }))

    it.effect("maxConcurrent answers 429 beyond it; a client abort is counted", () =>
      withServer({ latency: { _tag: "Fixed", millis: 60_000 }, limits: { maxConcurrent: 1 } }, (server) =>
        Effect.gen(function*() {
          const controller = new AbortController()
          const first = yield* Effect.fork(Effect.either(Effect.tryPromise(() =>
            fetch(`${server.url}/v1/chat/completions`, {
              method: "POST",
              body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "slow" }] }),
              signal: controller.signal
            })
          )))
          yield* eventually(server.counters, (c) => c.inFlight === 1)
          const second = yield* post(`${server.url}/v1/chat/completions`, { model: "m", messages: [{ role: "user", content: "fast" }] })
          assert.strictEqual(second.status, 429)
          assert.strictEqual(second.headers.get("retry-after"), "1")
          controller.abort()
          yield* Fiber.join(first)
          const counters = yield* eventually(server.counters, (c) => c.abortedByClient === 1)
          assert.strictEqual(counters.inFlight, 0)
          assert.strictEqual(counters.maxInFlight, 1)
          assert.strictEqual(counters.completed, 0)
        })))

    it.effect("a client that closes a stream mid-answer is counted as aborted", () =>
      withServer({ tokensPerSecond: 1 }, (server) =>
        Effect.gen(function*() {
          const controller = new AbortController()
          const firstChunk = yield* Effect.promise(async () => {
            const r = await fetch(`${server.url}/v1/messages`, {
              method: "POST",
              headers: anthropicHeaders,
              body: JSON.stringify({ model: "c", max_tokens: 100, stream: true, messages: [{ role: "user", content: "Tell a long story" }] }),
              signal: controller.signal
            })
            const reader = r.body!.getReader()
            const { value } = await reader.read()
            return new TextDecoder().decode(value)
          })
          assert.include(firstChunk, "message_start")
          // the test clock holds the next token: the stream is mid-answer
          yield* TestClock.adjust("1 second")
          controller.abort()
          const counters = yield* eventually(server.counters, (c) => c.abortedByClient === 1)
          assert.strictEqual(counters.completed, 0)
          assert.strictEqual(counters.inFlight, 0)
        })))

    it.effect("a client that leaves while sending its body is counted as aborted, not as a bad request", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          const target = new URL(server.url)
          const socket = Net.connect(Number(target.port), target.hostname)
          socket.on("error", () => {})
          socket.write(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"model\":"
          )
          yield* eventually(server.counters, (c) => c.inFlight === 1)
          socket.destroy()
          const counters = yield* eventually(server.counters, (c) => c.inFlight === 0)
          assert.deepStrictEqual([counters.abortedByClient, counters.badRequests], [1, 0])
        })))

    it.effect("the pacer ticks only while a stream is open, and starts again with the next one", () =>
      withServer({ tokensPerSecond: 50 }, (server) =>
        Effect.gen(function*() {
          for (const round of [1, 2]) {
            const fiber = yield* Effect.fork(post(`${server.url}/v1/chat/completions`, { model: "m", messages: chatMessages, stream: true }))
            yield* eventually(server.counters, (c) => c.requests === round)
            for (let i = 0; i < 2000 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
              yield* TestClock.adjust("10 millis")
              yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
            }
            const reply = yield* Fiber.join(fiber)
            assert.include(reply.text, "data: [DONE]")
            // the stream is over: nothing of the server waits on the clock any more
            assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 0)
          }
          assert.strictEqual((yield* server.counters).completed, 2)
        })))

    it.effect("the latency runs from the request's arrival, not from when its body is read", () =>
      withServer({ latency: { _tag: "Fixed", millis: 1000 } }, (server) =>
        Effect.gen(function*() {
          const target = new URL(`${server.url}/v1/chat/completions`)
          let status: number | undefined
          const request = Http.request({
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: "POST",
            headers: { "content-type": "application/json" }
          }, (response) => {
            response.resume()
            response.on("end", () => (status = response.statusCode))
          })
          request.on("error", () => {}) // the server closes the connection when the test ends
          request.flushHeaders()
          // the headers are in: the clock of this request has started
          yield* eventually(server.counters, (c) => c.requests === 1)
          yield* TestClock.adjust("400 millis")
          request.end(JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }))
          yield* TestClock.adjust("599 millis")
          for (let i = 0; i < 20; i++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          assert.strictEqual(status, undefined, "answered before its latency")
          // 1000 ms after arrival (it would be 1400 ms if the wait started once the body was read)
          yield* TestClock.adjust("1 millis")
          yield* eventually(Effect.sync(() => status), (s) => s !== undefined)
          assert.strictEqual(status, 200)
        })))

    it.effect("a reply written at its due instant carries the same bytes and headers as one written at once", () =>
      Effect.gen(function*() {
        const body = { model: "m", messages: chatMessages }
        const atOnce = yield* withServer({ seed: 3 }, (server) => post(`${server.url}/v1/chat/completions`, body))
        const late = yield* withServer({ seed: 3, latency: { _tag: "Fixed", millis: 250 } }, (server) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(post(`${server.url}/v1/chat/completions`, body))
            yield* eventually(server.counters, (c) => c.requests === 1)
            yield* TestClock.adjust("250 millis")
            return yield* Fiber.join(fiber)
          }))
        for (const reply of [atOnce, late]) {
          assert.strictEqual(reply.status, 200)
          assert.strictEqual(reply.headers.get("content-type"), "application/json")
          assert.strictEqual(reply.headers.get("content-length"), String(Buffer.byteLength(reply.text)))
        }
        const withoutId = (text: string) => ({ ...JSON.parse(text), id: undefined })
        assert.deepStrictEqual(withoutId(late.text), withoutId(atOnce.text))
      }))

    it.effect("requestsPerMinute answers 429 until the window moves on", () =>
      withServer({ limits: { requestsPerMinute: 2 } }, (server) =>
        Effect.gen(function*() {
          const body = { model: "m", messages: [{ role: "user", content: "hi" }] }
          assert.strictEqual((yield* post(`${server.url}/v1/chat/completions`, body)).status, 200)
          yield* TestClock.adjust("10 seconds")
          assert.strictEqual((yield* post(`${server.url}/v1/chat/completions`, body)).status, 200)
          const limited = yield* post(`${server.url}/v1/chat/completions`, body)
          assert.strictEqual(limited.status, 429)
          assert.strictEqual(limited.headers.get("retry-after"), "50")
          yield* TestClock.adjust("50 seconds")
          assert.strictEqual((yield* post(`${server.url}/v1/chat/completions`, body)).status, 200)
        })))

    it.effect("counters over HTTP, and reset", () =>
      withServer({}, (server) =>
        Effect.gen(function*() {
          yield* post(`${server.url}/v1/chat/completions`, { model: "m", messages: [{ role: "user", content: "hi" }] })
          yield* post(`${server.url}/v1/responses`, { model: "m", input: "hi" })
          const counters = JSON.parse((yield* get(`${server.url}/_sim/counters`)).text)
          assert.strictEqual(counters.requests, 2)
          assert.strictEqual(counters.completed, 2)
          assert.deepStrictEqual(counters.byRoute, { "/v1/chat/completions": 1, "/v1/responses": 1 })
          assert.isTrue(Either.isRight(Schema.decodeUnknownEither(SimulatorServer.Counters)(counters)))
          assert.strictEqual((yield* post(`${server.url}/_sim/reset`, {})).status, 200)
          const after = yield* server.counters
          assert.strictEqual(after.requests, 0)
          assert.deepStrictEqual(after.byRoute, {})
        })))
  })
})
