/**
 * How long a reply takes: a latency drawn per request from the configured distribution.
 */
import type { Latency } from "../../SimulatorConfig.js"
import { normal, type Rng } from "../rng.js"

/** One draw of `latency`, in milliseconds. */
export const sample = (latency: Latency, rng: Rng): number => {
  switch (latency._tag) {
    case "Fixed":
      return Math.max(0, latency.millis)
    case "Uniform":
      return Math.round(latency.minMillis + rng.next() * (latency.maxMillis - latency.minMillis))
    case "LogNormal":
      return Math.max(0, Math.round(latency.medianMillis * Math.exp(latency.sigma * normal(rng))))
  }
}
