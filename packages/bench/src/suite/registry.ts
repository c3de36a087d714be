/**
 * Every benchmark the suite runs, area by area (each area lists its own in
 * `src/<area>/benchmarks.ts`), in the order they run.
 */
import { benchmarks as batch } from "../batch/benchmarks.js"
import { benchmarks as core } from "../core/benchmarks.js"
import { benchmarks as examples } from "../examples/benchmarks.js"
import { benchmarks as peers } from "../peers/benchmarks.js"
import { benchmarks as providers } from "../providers/benchmarks.js"
import { benchmarks as simulator } from "../simulator/benchmarks.js"
import { benchmarks as telemetry } from "../telemetry/benchmarks.js"
import type { Benchmark } from "./Benchmark.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  ...core,
  ...providers,
  ...telemetry,
  ...batch,
  ...simulator,
  ...examples,
  ...peers
]
