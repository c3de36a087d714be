/**
 * The harness's old path and signature, kept only for `packages/telemetry/bench` until those
 * scripts move into this package (then this file goes): `startSimulator` took the simulator's
 * command-line flags, of which they pass only `--latency 0`, the default.
 */
import * as Harness from "../harness/measure.js"

export { type Measure, measure, median, pool } from "../harness/measure.js"

export const startSimulator = (flags: ReadonlyArray<string>): Promise<Harness.SimulatorProcess> => {
  if (flags.join(" ") !== "--latency 0") throw new Error(`startSimulator: use ../harness/measure.js for options (${flags.join(" ")})`)
  return Harness.startSimulator()
}
