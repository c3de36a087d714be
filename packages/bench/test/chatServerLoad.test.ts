/**
 * The suite's reading of `examples/chat-server/load.ts`: each server's figures come from its own
 * report (printed after the progress lines that also name it), whatever order the servers ran in,
 * and the verdict is ours against the bare floor.
 */
import { assert, describe, it } from "@effect/vitest"
import { benchmarks } from "../src/examples/benchmarks.js"

const load = benchmarks.find((b) => b.name === "chat-server-load")!

const report = (name: string, perToken: string, extra: ReadonlyArray<string> = []) => [
  "",
  name,
  ...extra,
  `  server CPU:           900 ms in the window, ${perToken} µs per token`,
  "  TTFT added, server:   p50 3.0 ms, p99 40.0 ms, max 50.0 ms (request read to first token written)"
]

const ours = "chat server (effect-dspy)"
const effect = "Effect floor (effectFloor.ts: @effect/platform + @effect/experimental Sse, no effect-dspy)"
const floor = "floor (floor.ts: bare node:http proxy)"

const output = [
  "load: 2000 conversations",
  "",
  `${ours}: http://127.0.0.1:1`,
  "  server CPU:           1 ms in the window, 1.0 µs per token (progress, not the report)",
  "",
  `${effect}: http://127.0.0.1:2`,
  "",
  `${floor}: http://127.0.0.1:3`,
  ...report(ours, "193.7", [
    "  open event streams:   reached 2000; during the window 1990..2000",
    "  server RSS:           300.0 MiB with the conversations open (80.0 MiB before)",
    "  idle conversation:    21.4 KiB of RSS each (heap now 120.0 MiB)"
  ]),
  ...report(effect, "207.0"),
  ...report(floor, "48.1"),
  "",
  "summary (the same run)",
  "  CPU per token, Effect floor / bare floor (the building blocks' share): 4.30x",
  "  CPU per token, ours / Effect floor (effect-dspy's share): 0.94x",
  "  CPU per token, ours / bare floor (target at most 2x): 4.03x"
].join("\n")

describe("chat-server-load figures", () => {
  it("reads each server from its own report and judges ours against the bare floor", () => {
    const result = load.parse(output, "unused.json")
    assert.strictEqual(result.target, "FAIL")
    assert.deepStrictEqual(result.figures, {
      openStreams: 2000,
      minOpenInWindow: 1990,
      serverRssOpen: "300.0 MiB",
      perIdleConversation: "21.4 KiB",
      cpuMicrosPerToken: 193.7,
      floorCpuMicrosPerToken: 48.1,
      effectFloorCpuMicrosPerToken: 207,
      cpuRatioToFloor: 4.03,
      effectFloorRatioToFloor: 4.3,
      serverAddedTtftP50: "3.0 ms",
      serverAddedTtftP99: "40.0 ms"
    })
  })

  it("passes when ours is within 2x of the bare floor", () => {
    const result = load.parse(output.replace("(target at most 2x): 4.03x", "(target at most 2x): 1.90x"), "unused.json")
    assert.strictEqual(result.target, "PASS")
  })
})
