/**
 * One simulator instance: the admission gate (limits and faults), the
 * counters, latency sampling and the answer engine. Shared by the in-process
 * model and the HTTP server. All mutable state lives in the instance.
 */
import type { Resolved } from "../SimulatorConfig.js"
import * as Answer from "./answer.js"
import { makeRng, mix, normal, type Rng } from "./rng.js"

/** Counters of an instance (see `SimulatorServer.Counters`). */
export interface Counters {
  readonly requests: number
  readonly inFlight: number
  readonly maxInFlight: number
  readonly rateLimited: number
  readonly serverErrors: number
  readonly resets: number
  readonly abortedByClient: number
  readonly completed: number
  readonly truncated: number
  readonly malformed: number
  readonly badRequests: number
  readonly unauthorized: number
  readonly byRoute: Readonly<Record<string, number>>
}

/** An admitted request: what faults it gets and how long it takes. */
export interface Ticket {
  /** Drawn at admission; re-drawn from the request by `answer` with `latencySampling: "request"`. */
  latencyMillis: number
  readonly truncate: boolean
  /** Where a truncated stream stops, as a fraction of its deltas. */
  readonly truncateAt: number
  readonly malformed: boolean
  released: boolean
}

/** The gate's decision for a request. */
export type Admission =
  | { readonly _tag: "Admitted"; readonly ticket: Ticket }
  | { readonly _tag: "RateLimited"; readonly retryAfterMillis: number; readonly reason: "fault" | "concurrency" | "rpm" }
  | { readonly _tag: "ServerError"; readonly status: 500 | 503 }
  | { readonly _tag: "Reset" }

/** How an admitted request ended. */
export type Ending = "completed" | "truncated" | "aborted" | "failed"

const WINDOW_MILLIS = 60_000

/** A simulator instance. */
export class Engine {
  private rng: Rng
  private seq = 0
  private requests = 0
  private inFlight = 0
  private maxInFlight = 0
  private rateLimited = 0
  private serverErrors = 0
  private resets = 0
  private abortedByClient = 0
  private completed = 0
  private truncated = 0
  private malformedCount = 0
  private badRequests = 0
  private unauthorized = 0
  private byRoute: Record<string, number> = {}
  private window: Array<number> | undefined
  private windowAt = 0
  private readonly caches = Answer.makeCaches()
  /** Milliseconds between streamed tokens (0: no pacing). */
  readonly perTokenMillis: number

  constructor(readonly options: Resolved) {
    this.rng = makeRng(options.seed ^ 0x5eed)
    this.perTokenMillis = options.tokensPerSecond === undefined ? 0 : 1000 / options.tokensPerSecond
    this.window = this.makeWindow()
  }

  private makeWindow(): Array<number> | undefined {
    const rpm = this.options.limits.requestsPerMinute
    return rpm === undefined ? undefined : new Array<number>(Math.ceil(rpm)).fill(-Infinity)
  }

  /** Counts a request on a route (every request, answered or not). */
  countRequest(route: string): void {
    this.requests++
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1
  }

  countBadRequest(): void {
    this.badRequests++
  }

  countUnauthorized(): void {
    this.unauthorized++
  }

  private sampleLatency(rng: Rng): number {
    const l = this.options.latency
    switch (l._tag) {
      case "Fixed":
        return Math.max(0, l.millis)
      case "Uniform":
        return Math.round(l.minMillis + rng.next() * (l.maxMillis - l.minMillis))
      case "LogNormal":
        return Math.max(0, Math.round(l.medianMillis * Math.exp(l.sigma * normal(rng))))
    }
  }

  /** Decides whether a request is answered, rate limited or hit by a fault. */
  admit(nowMillis: number): Admission {
    const o = this.options
    const retryAfterMillis = Math.round(o.faults.retryAfterSeconds * 1000)
    if (o.limits.maxConcurrent !== undefined && this.inFlight >= o.limits.maxConcurrent) {
      this.rateLimited++
      return { _tag: "RateLimited", retryAfterMillis, reason: "concurrency" }
    }
    const window = this.window
    if (window !== undefined) {
      const oldest = window[this.windowAt] as number
      if (nowMillis - oldest < WINDOW_MILLIS) {
        this.rateLimited++
        return { _tag: "RateLimited", retryAfterMillis: oldest + WINDOW_MILLIS - nowMillis, reason: "rpm" }
      }
    }
    // a fixed number of draws per request keeps the fault sequence stable
    const rng = this.rng
    const rRate = rng.next()
    const rServer = rng.next()
    const rReset = rng.next()
    const rTruncate = rng.next()
    const rMalformed = rng.next()
    const truncateAt = rng.next()
    // drawn in both sampling modes, so the fault sequence does not depend on the mode
    const latencyMillis = this.sampleLatency(rng)
    if (rRate < o.faults.rateLimit) {
      this.rateLimited++
      return { _tag: "RateLimited", retryAfterMillis, reason: "fault" }
    }
    if (rServer < o.faults.serverError) {
      this.serverErrors++
      return { _tag: "ServerError", status: rServer < o.faults.serverError / 2 ? 500 : 503 }
    }
    if (rReset < o.faults.reset) {
      this.resets++
      return { _tag: "Reset" }
    }
    if (window !== undefined) {
      window[this.windowAt] = nowMillis
      this.windowAt = (this.windowAt + 1) % window.length
    }
    this.inFlight++
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight
    const malformed = rMalformed < o.faults.malformed
    if (malformed) this.malformedCount++
    return {
      _tag: "Admitted",
      ticket: { latencyMillis, truncate: rTruncate < o.faults.truncate, truncateAt, malformed, released: false }
    }
  }

  /** Ends an admitted request (idempotent). */
  release(ticket: Ticket, ending: Ending): void {
    if (ticket.released) return
    ticket.released = true
    this.inFlight--
    switch (ending) {
      case "completed":
        this.completed++
        break
      case "truncated":
        this.truncated++
        break
      case "aborted":
        this.abortedByClient++
        break
      case "failed":
        break
    }
  }

  /** Answers a request (and, with `latencySampling: "request"`, fixes its latency from its content). */
  answer(req: Answer.SimRequest, ticket: Ticket): Answer.Outcome {
    // The HTTP server admits a request before reading its body, so the content-seeded
    // latency can only be drawn here, once the request is known.
    if (this.options.latencySampling === "request") ticket.latencyMillis = this.requestLatency(req)
    return Answer.answer(req, this.options.seed, this.options.script, this.caches, ticket.malformed, this.seq++)
  }

  /** The latency of a request as a function of the seed and the request alone. */
  requestLatency(req: Answer.SimRequest): number {
    const h = mix(Answer.requestHash(req), req.seed ?? 0)
    return this.sampleLatency(makeRng(mix(this.options.seed ^ 0x1a7e, h)))
  }

  /** Delay before the first token (streams) or before the whole answer. */
  firstTokenMillis(ticket: Ticket): number {
    return ticket.latencyMillis + this.options.timeToFirstTokenMillis
  }

  /** Total time of a non-streamed answer of `outputTokens` tokens. */
  totalMillis(ticket: Ticket, outputTokens: number): number {
    return this.firstTokenMillis(ticket) + this.perTokenMillis * outputTokens
  }

  counters(): Counters {
    return {
      requests: this.requests,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      rateLimited: this.rateLimited,
      serverErrors: this.serverErrors,
      resets: this.resets,
      abortedByClient: this.abortedByClient,
      completed: this.completed,
      truncated: this.truncated,
      malformed: this.malformedCount,
      badRequests: this.badRequests,
      unauthorized: this.unauthorized,
      byRoute: { ...this.byRoute }
    }
  }

  /** Zeroes the counters (requests in flight stay counted) and restarts the fault sequence and the window. */
  reset(): void {
    this.rng = makeRng(this.options.seed ^ 0x5eed)
    this.requests = 0
    this.maxInFlight = this.inFlight
    this.rateLimited = 0
    this.serverErrors = 0
    this.resets = 0
    this.abortedByClient = 0
    this.completed = 0
    this.truncated = 0
    this.malformedCount = 0
    this.badRequests = 0
    this.unauthorized = 0
    this.byRoute = {}
    this.window = this.makeWindow()
    this.windowAt = 0
  }
}
