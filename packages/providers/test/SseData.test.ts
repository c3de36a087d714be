import { assert, describe, it } from "@effect/vitest"
import * as SseData from "../src/internal/sseData.js"

const parse = (pieces: ReadonlyArray<string>, maxEventSize?: number) => {
  const events: Array<string> = []
  const parser = SseData.make((data) => events.push(data), maxEventSize)
  const limits: Array<number> = []
  for (const piece of pieces) {
    const limit = parser.feed(piece)
    if (limit !== undefined) limits.push(limit)
  }
  return { events, limits }
}

const stream = "\ufeff: a comment\n" +
  "data: {\"a\":1}\n\n" +
  "event: ignored\r\nid: 7\r\ndata:{\"b\":2}\r\n\r\n" +
  "data: line one\rdata: line two\r\r" +
  "retry: 10\ndata\n\n" +
  "datum: not data\n\n" +
  "data: [DONE]\n\n" +
  "data: unfinished"

const expected = ["{\"a\":1}", "{\"b\":2}", "line one\nline two", "", "[DONE]"]

describe("SseData", () => {
  it("reads data events with any line ending, skipping comments and other fields", () => {
    assert.deepStrictEqual(parse([stream]).events, expected)
  })

  it("gives the same events however the text is split", () => {
    for (let size = 1; size <= 9; size++) {
      const pieces: Array<string> = []
      for (let i = 0; i < stream.length; i += size) pieces.push(stream.slice(i, i + size))
      assert.deepStrictEqual(parse(pieces).events, expected, `pieces of ${size}`)
    }
    // a "\r\n" split between two reads is one line ending, not two
    assert.deepStrictEqual(parse(["data: x\r", "\n\r", "\ndata: y\n\n"]).events, ["x", "y"])
  })

  it("reports an event larger than the limit and starts afresh", () => {
    const { events, limits } = parse(["data: " + "x".repeat(50), "\n\n", "data: ok\n\n"], 20)
    assert.deepStrictEqual(limits, [20])
    assert.deepStrictEqual(events, ["ok"])
  })
})
