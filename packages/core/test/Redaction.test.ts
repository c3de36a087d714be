import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Redaction from "../src/Redaction.js"

describe("Redaction", () => {
  it("removes user and password from a URL and hides credential-like query values", () => {
    assert.strictEqual(
      Redaction.url("http://ada:hunter2@proxy.local/v1?api_key=abc&x=1"),
      "http://[REDACTED]@proxy.local/v1?api_key=[REDACTED]&x=1"
    )
    assert.strictEqual(Redaction.url("https://api.openai.com/v1"), "https://api.openai.com/v1")
    assert.strictEqual(Redaction.url(new URL("https://h/p?key=AIzaSyABC&alt=sse")), "https://h/p?key=[REDACTED]&alt=sse")
  })

  it("hides URL credentials and query tokens inside free text", () => {
    const out = Redaction.text("connect ECONNREFUSED for http://user:PASS@proxy:8080/v1/chat?token=t0k3n (after 3 tries)")
    assert.notInclude(out, "PASS")
    assert.notInclude(out, "t0k3n")
    assert.include(out, "proxy:8080/v1/chat")
    assert.include(out, "(after 3 tries)")
  })

  it("hides known secrets, longest first, and key-like patterns", () => {
    const key = Redacted.make("super-secret-value-123")
    const out = Redaction.text("a super-secret-value-123 b sk-proj-abcdefghijklmnopqr c Bearer abcdefghijkl.mnop", [key])
    assert.strictEqual(out, "a [REDACTED] b sk-[REDACTED] c Bearer [REDACTED]")
    assert.strictEqual(Redaction.text(`{"api_key": "abcd1234efgh5678"}`), `{"api_key": "[REDACTED]"}`)
  })

  it("leaves ordinary text alone", () => {
    for (const text of ["ask-me anything, basic question", "the passage says", "https://example.com/a?b=c", "no url here"]) {
      assert.strictEqual(Redaction.text(text), text)
    }
  })

  it("a scrubber ignores secrets too short to replace safely", () => {
    const scrubber = Redaction.makeScrubber([Redacted.make("abc"), Redacted.make("long-enough-secret")])
    assert.isTrue(scrubber.test("xx long-enough-secret"))
    assert.strictEqual(scrubber.apply("abc long-enough-secret"), "abc [REDACTED]")
  })
})
