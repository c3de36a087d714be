/**
 * Laws of the two incremental readers: however a body is cut into reads, the SSE parser sees the
 * same events and the think-tag splitter the same reasoning and answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Sse from "../src/internal/sse.js"
import { ThinkSplitter } from "../src/internal/thinkTags.js"

// Cuts `text` at the given (sorted, deduplicated) positions.
const cut = (text: string, at: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(at.map((p) => p % (text.length + 1)))].sort((a, b) => a - b)
  const pieces: Array<string> = []
  let from = 0
  for (const p of points) {
    pieces.push(text.slice(from, p))
    from = p
  }
  pieces.push(text.slice(from))
  return pieces
}

const events = (pieces: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  const parser = Sse.make((data) => out.push(data))
  for (const piece of pieces) parser.feed(piece)
  return out
}

const split = (pieces: ReadonlyArray<string>, startsInReasoning = false) => {
  const splitter = new ThinkSplitter(startsInReasoning)
  const segments = [...pieces.flatMap((p) => splitter.push(p)), ...splitter.end()]
  return {
    reasoning: segments.filter((s) => s.reasoning).map((s) => s.text).join(""),
    text: segments.filter((s) => !s.reasoning).map((s) => s.text).join("")
  }
}

const eventData = FastCheck.string({ unit: FastCheck.constantFrom("a", "é", "東", "🌸", "{", "\"", ":", " ", "x") })

describe("SSE parser", () => {
  it("any cutting of a body gives the same events (LF, CRLF, comments, multi-line data)", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(eventData, { minLength: 1, maxLength: 8 }),
        FastCheck.constantFrom("\n", "\r\n"),
        FastCheck.array(FastCheck.nat(400), { maxLength: 30 }),
        (datas, eol, at) => {
          const body = [": keep-alive", ...datas.map((d) => `data: ${d}`)].join(eol + eol) + eol + eol
          assert.deepStrictEqual(events(cut(body, at)), datas)
        }
      )
    ))

  it("data split over several lines is joined with newlines; event and id fields are skipped", () => {
    assert.deepStrictEqual(events(["event: message_start\nid: 1\ndata: {\"a\":\ndata: 1}\n\n"]), ["{\"a\":\n1}"])
  })
})

describe("think-tag splitter", () => {
  const answer = FastCheck.string({ unit: FastCheck.constantFrom("a", "b", "<", ">", "/", "t", " ", "東") })
  it("any cutting of a reply gives the same reasoning and answer", () =>
    FastCheck.assert(
      FastCheck.property(answer, answer, FastCheck.array(FastCheck.nat(200), { maxLength: 20 }), (thought, rest, at) => {
        const text = rest.replaceAll("<", "(")
        const whole = `<think>${thought.replaceAll("<", "(")}</think>\n\n${text}`
        assert.deepStrictEqual(split(cut(whole, at)), split([whole]))
        assert.strictEqual(split([whole]).text, text.trimStart())
      })
    ))

  it("a lone </think> closes a block opened in the prompt; a model known to do so starts in reasoning", () => {
    // whole: what came before it was reasoning
    assert.deepStrictEqual(split(["plan</think>answer"]), { reasoning: "plan", text: "answer" })
    // streamed, the first time, the words before it were already passed on as text; the tag
    // never is, and the splitter says the model opens its block in the prompt (it is remembered)
    const first = new ThinkSplitter(false)
    const pieces = [...first.push("plan</thi"), ...first.push("nk>answer"), ...first.end()]
    assert.strictEqual(pieces.map((p) => p.text).join(""), "plananswer")
    assert.isTrue(first.implicitOpen)
    assert.deepStrictEqual(split(["plan", " more</think>", "answer"], true), { reasoning: "plan more", text: "answer" })
    assert.deepStrictEqual(split(["no tags at all"]), { reasoning: "", text: "no tags at all" })
  })
})
