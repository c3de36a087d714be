/**
 * No secret reaches an error, a log line or a span: a key a server echoes, and a password in the
 * base URL (which becomes basic auth and never appears in a URL we show).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Logger, LogLevel, Option, Redacted, Tracer } from "effect"
import * as Lm from "../src/Lm.js"
import * as LmError from "../src/LmError.js"
import { completion } from "./fixtures/chatCompletions.js"
import { generate, policy } from "./utils/calls.js"
import { serve } from "./utils/replay.js"

// Not shaped like a known key: only knowing the secret hides it.
const key = "custom-SECRETSECRET-0123456789"
const echo = {
  status: 401,
  body: JSON.stringify({ error: { message: `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } })
}

// Everything a failed call leaves behind: its cause, its log lines and its spans' exits.
const traces = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    const native = yield* Effect.tracer
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = native.span(name, parent, context, links, startTime, kind, options)
        const end = span.end.bind(span)
        const attribute = span.attribute.bind(span)
        return Object.assign(span, {
          end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
            if (Exit.isFailure(exit)) seen.push(Cause.pretty(exit.cause))
            end(endTime, exit)
          },
          attribute: (k: string, v: unknown) => {
            seen.push(`${k}=${JSON.stringify(v)}`)
            attribute(k, v)
          }
        })
      },
      context: native.context
    })
    const logger = Logger.make(({ message }) => seen.push(JSON.stringify(message)))
    const exit = yield* effect.pipe(
      Effect.withTracer(tracer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
    if (Exit.isFailure(exit as Exit.Exit<unknown, unknown>)) {
      const cause = (exit as Exit.Exit<unknown, unknown> & { cause: Cause.Cause<unknown> }).cause
      seen.push(Cause.pretty(cause))
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) seen.push(JSON.stringify(failure.value), LmError.classify(failure.value).message)
    }
    return seen.join("\n")
  })

describe("secrets", () => {
  for (const [name, id, base] of [
    ["openai-compatible", "openai-compatible/m", "/v1"],
    ["openai (Responses)", "openai/gpt-4.1", "/v1"],
    ["anthropic", "anthropic/claude-3-5-haiku-latest", ""],
    ["google", "google/gemini-2.0-flash", ""]
  ] as const) {
    it.scoped(`${name}: a key the server echoes is hidden everywhere`, () =>
      Effect.gen(function*() {
        const server = yield* serve([echo])
        const model = Lm.layer(id, { baseUrl: `${server.url}${base}`, apiKey: Redacted.make(key), retry: policy })
        const everything = yield* traces(generate(model))
        assert.include(everything, "Incorrect API key provided")
        assert.notInclude(everything, "SECRETSECRET")
      }))
  }

  it.scoped("a password in the base URL becomes basic auth and never appears in an error", () =>
    Effect.gen(function*() {
      const server = yield* serve([{ status: 500, body: JSON.stringify({ error: { message: "boom" } }) }, completion({ content: "ok" })])
      const url = server.url.replace("http://", "http://ada:hunter2-very-secret@")
      const everything = yield* traces(generate(Lm.layer("openai-compatible/m", { baseUrl: `${url}/v1`, retry: { ...policy, maxRetries: 0 } })))
      assert.include(everything, "boom")
      assert.notInclude(everything, "hunter2")
      assert.strictEqual(server.received[0]!.headers.authorization, `Basic ${Buffer.from("ada:hunter2-very-secret").toString("base64")}`)
      assert.notInclude(server.received[0]!.url, "hunter2")
    }))

  it.scoped("nor in a transport error to an unreachable server", () =>
    Effect.gen(function*() {
      const everything = yield* traces(generate(Lm.layer("openai-compatible/m", {
        baseUrl: "http://ada:hunter2-very-secret@127.0.0.1:9/v1",
        retry: { ...policy, maxRetries: 0 }
      })))
      assert.include(everything, "ConnectionReset")
      assert.notInclude(everything, "hunter2")
    }))
})
