/**
 * A base URL with a query string (a proxy's tenant, a gateway's key parameter): every provider
 * sends the request to the base's path joined with its own, with the base's query after it, not
 * to `…/v1?tenant=a/chat/completions`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Lm from "../src/Lm.js"
import { generate } from "./utils/calls.js"
import { serve } from "./utils/replay.js"

const refused = { status: 400, body: JSON.stringify({ error: { message: "recorded" } }) }

describe("a base URL with a query string", () => {
  for (const [name, id, path] of [
    ["openai-compatible", "openai-compatible/m", "/v1/chat/completions"],
    ["openai (Responses)", "openai/gpt-4.1", "/v1/responses"],
    ["anthropic", "anthropic/claude-3-5-haiku-latest", "/v1/messages"],
    ["google", "google/gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:generateContent"]
  ] as const) {
    it.scoped(`${name}: the path goes before the query, which every request keeps`, () =>
      Effect.gen(function*() {
        const server = yield* serve([refused])
        const base = `${server.url}${id.startsWith("openai") ? "/v1" : ""}/?tenant=acme&region=eu`
        yield* generate(Lm.layer(id, { baseUrl: base, apiKey: Redacted.make("key-0123456789"), retry: false }))
        const url = new URL(server.received[0]!.url, server.url)
        assert.strictEqual(url.pathname, path)
        assert.strictEqual(url.searchParams.get("tenant"), "acme")
        assert.strictEqual(url.searchParams.get("region"), "eu")
      }))
  }

  it.scoped("openai-compatible on Azure: the base's query and api-version together", () =>
    Effect.gen(function*() {
      const server = yield* serve([refused])
      yield* generate(Lm.layer("openai-compatible/gpt4o", {
        baseUrl: `${server.url}/openai/deployments/gpt4o?tenant=acme`,
        apiKey: Redacted.make("key-0123456789"),
        apiVersion: "2024-10-21",
        retry: false
      }))
      assert.strictEqual(server.received[0]!.url, "/openai/deployments/gpt4o/chat/completions?tenant=acme&api-version=2024-10-21")
    }))
})
