/**
 * The admission gate of a simulator instance: its limits (requests at once, requests per
 * minute) and the faults drawn for each request from the seeded sequence, so that a retried
 * request can succeed where the first one failed.
 */
import type { Resolved } from "../../SimulatorConfig.js"
import { makeRng, type Rng } from "../rng.js"
import * as Latency from "./latency.js"

/** An admitted request: what faults it gets and how long it takes. */
export interface Ticket {
  /** Drawn at admission; drawn again from the request with `latencySampling: "request"`. */
  latencyMillis: number
  /** A stream cut without its end marker. */
  readonly truncate: boolean
  /** An in-band error (see `SimulatorConfig.Faults.inBandError`). */
  readonly inBandError: InBandKind | undefined
  /** Where a cut or failing stream stops, as a fraction of its tokens. */
  readonly cutAt: number
  readonly malformed: boolean
  released: boolean
}

/** Which in-band error a request gets. */
export type InBandKind = "overloaded" | "server"

/** The gate's decision for a request. */
export type Admission =
  | { readonly _tag: "Admitted"; readonly ticket: Ticket }
  | { readonly _tag: "RateLimited"; readonly retryAfterMillis: number; readonly reason: "fault" | "concurrency" | "rpm" }
  | { readonly _tag: "ServerError"; readonly status: 500 | 503 }
  | { readonly _tag: "Reset" }

const WINDOW_MILLIS = 60_000

/** The gate of one instance (its fault sequence and its requests-per-minute window). */
export class Gate {
  private faults!: Rng
  /** The faults added later draw from a sequence of their own, leaving the first one as it was. */
  private moreFaults!: Rng
  /** Admission times within the last minute, oldest first from `windowStart` (with `requestsPerMinute`). */
  private window: Array<number> = []
  private windowStart = 0

  constructor(private readonly options: Resolved) {
    this.reset()
  }

  /** Restarts the fault sequence and the window. */
  reset(): void {
    this.faults = makeRng(this.options.seed ^ 0x5eed)
    this.moreFaults = makeRng(this.options.seed ^ 0xfa175)
    this.window = []
    this.windowStart = 0
  }

  /** Decides whether a request is answered, rate limited or hit by a fault. */
  admit(nowMillis: number, inFlight: number): Admission {
    const o = this.options
    const retryAfterMillis = Math.round(o.faults.retryAfterSeconds * 1000)
    if (o.limits.maxConcurrent !== undefined && inFlight >= o.limits.maxConcurrent) {
      return { _tag: "RateLimited", retryAfterMillis, reason: "concurrency" }
    }
    const rpm = o.limits.requestsPerMinute
    if (rpm !== undefined) {
      // forget the admissions that left the window; memory stays within the limit
      const window = this.window
      while (this.windowStart < window.length && nowMillis - window[this.windowStart]! >= WINDOW_MILLIS) this.windowStart++
      if (this.windowStart > 1024 && this.windowStart * 2 > window.length) {
        window.splice(0, this.windowStart)
        this.windowStart = 0
      }
      if (window.length - this.windowStart >= rpm) {
        const oldest = window[this.windowStart]!
        return { _tag: "RateLimited", retryAfterMillis: oldest + WINDOW_MILLIS - nowMillis, reason: "rpm" }
      }
    }
    // a fixed number of draws per request keeps the fault sequence stable
    const rng = this.faults
    const rRate = rng.next()
    const rServer = rng.next()
    const rReset = rng.next()
    const rTruncate = rng.next()
    const rMalformed = rng.next()
    const cutAt = rng.next()
    // drawn in both sampling modes, so that the fault sequence does not depend on the mode
    const latencyMillis = Latency.sample(o.latency, rng)
    const rInBand = this.moreFaults.next()
    const rKind = this.moreFaults.next()
    if (rRate < o.faults.rateLimit) return { _tag: "RateLimited", retryAfterMillis, reason: "fault" }
    if (rServer < o.faults.serverError) {
      return { _tag: "ServerError", status: rServer < o.faults.serverError / 2 ? 500 : 503 }
    }
    if (rReset < o.faults.reset) return { _tag: "Reset" }
    if (rpm !== undefined) this.window.push(nowMillis)
    const truncate = rTruncate < o.faults.truncate
    return {
      _tag: "Admitted",
      ticket: {
        latencyMillis,
        truncate,
        inBandError: !truncate && rInBand < o.faults.inBandError ? (rKind < 0.5 ? "overloaded" : "server") : undefined,
        cutAt,
        malformed: rMalformed < o.faults.malformed,
        released: false
      }
    }
  }
}
