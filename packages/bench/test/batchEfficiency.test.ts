/**
 * The suite's reading of `batch/efficiency.ts`: the cold phase (printed first) is the headline,
 * the warm phase's gap is reported next to it, and the verdict needs both phases to pass.
 */
import { assert, describe, it } from "@effect/vitest"
import { benchmarks } from "../src/batch/benchmarks.js"

const efficiency = benchmarks.find((b) => b.name === "batch-efficiency")!

const output = (coldVerdict: string, warmVerdict: string) =>
  [
    "efficiency: 150 items, concurrency 10, latency 100 ms (a bare server, never early); ideal 1500 ms; warm-up 300 items at 100 ms (…)",
    "cold (after 300 warm-up items), load average 1.00 1.00 1.00:",
    "  best: Batch.run 1620.0 ms (8.00% over ideal), floor 1530.0 ms (2.00%); gap 6.00 points (medians: 7.00 points) [undici]",
    "  medians of runs [undici]: Batch.run CPU 2400 us/item (main thread 1800), turnaround 6.00 ms, round spread 40.00 ms; floor CPU 400 us/item (main thread 300), turnaround 2.00 ms, round spread 7.00 ms; gap per run 6.00 7.00 points",
    `  target: best within 1.5 points of the floor, cold -> ${coldVerdict}`,
    "warm (after 5000 more items at 0 ms), load average 1.00 1.00 1.00:",
    "  best: Batch.run 1590.0 ms (6.00% over ideal), floor 1530.0 ms (2.00%); gap 4.00 points (medians: 5.00 points) [undici]",
    "  medians of runs [undici]: Batch.run CPU 1500 us/item (main thread 1300), turnaround 5.00 ms, round spread 30.00 ms; floor CPU 250 us/item (main thread 200), turnaround 2.00 ms, round spread 7.00 ms; gap per run 4.00 5.00 points",
    `  target: best within 1.5 points of the floor, warm -> ${warmVerdict}`
  ].join("\n")

describe("batch-efficiency figures", () => {
  it("reads the cold phase as the headline and the warm gap next to it", () => {
    const figures = efficiency.parse(output("FAIL", "FAIL"), "unused.json")
    assert.strictEqual(figures.summary, "cold: best 8.00% over ideal, floor 2.00%: 6.00 points over the floor (medians 7.00); warm 4.00 points (medians 5.00)")
    assert.deepStrictEqual(figures.figures, {
      bestMillis: 1620,
      overIdealPercent: 8,
      floorMillis: 1530,
      floorPercent: 2,
      gapPoints: 6,
      medianGapPoints: 7,
      cpuMicrosPerItem: 2400,
      floorCpuMicrosPerItem: 400,
      turnaroundMillis: 6,
      floorTurnaroundMillis: 2,
      roundSpreadMillis: 40,
      floorRoundSpreadMillis: 7,
      warmGapPoints: 4,
      warmMedianGapPoints: 5
    })
  })

  it("passes only when both phases pass", () => {
    assert.strictEqual(efficiency.parse(output("FAIL", "PASS"), "unused.json").target, "FAIL")
    assert.strictEqual(efficiency.parse(output("PASS", "FAIL"), "unused.json").target, "FAIL")
    assert.strictEqual(efficiency.parse(output("PASS", "PASS"), "unused.json").target, "PASS")
  })

  it("reads the Effect floor's gap in each phase when it is printed", () => {
    const withEffectFloor = output("FAIL", "FAIL")
      .replace(
        "  medians of runs [undici]: Batch.run CPU 2400",
        "  best: Effect floor 1590.0 ms (6.00% over ideal); gap to the floor 4.00 points (medians: 4.50 points)\n  medians of runs [undici]: Batch.run CPU 2400"
      )
      .replace(
        "  medians of runs [undici]: Batch.run CPU 1500",
        "  best: Effect floor 1560.0 ms (4.00% over ideal); gap to the floor 2.00 points (medians: 2.50 points)\n  medians of runs [undici]: Batch.run CPU 1500"
      )
    const figures = efficiency.parse(withEffectFloor, "unused.json")
    assert.strictEqual(
      figures.summary,
      "cold: best 8.00% over ideal, floor 2.00%: 6.00 points over the floor (medians 7.00); warm 4.00 points (medians 5.00); " +
        "Effect floor 4.00 points over the floor cold (medians 4.50), 2.00 warm (medians 2.50)"
    )
    assert.strictEqual(figures.figures["effectFloorGapPoints"], 4)
    assert.strictEqual(figures.figures["effectFloorMedianGapPoints"], 4.5)
    assert.strictEqual(figures.figures["warmEffectFloorGapPoints"], 2)
    assert.strictEqual(figures.figures["warmEffectFloorMedianGapPoints"], 2.5)
  })

  it("reads a run without a warm phase (LONG_WARMUP=0)", () => {
    const cold = output("FAIL", "FAIL").split("\nwarm (")[0]!
    const figures = efficiency.parse(cold, "unused.json")
    assert.strictEqual(figures.summary, "cold: best 8.00% over ideal, floor 2.00%: 6.00 points over the floor (medians 7.00)")
    assert.strictEqual(figures.target, "FAIL")
  })
})
