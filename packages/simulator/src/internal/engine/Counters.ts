/**
 * What a simulator instance counts (served by the server at `GET /_sim/counters`).
 */
import * as Schema from "effect/Schema"

/** Counters of an instance; the schema is public as `SimulatorServer.Counters`. */
export const Counters = Schema.Struct({
  /** Requests received on the API routes (answered or not). */
  requests: Schema.Number,
  /** Requests being answered now. */
  inFlight: Schema.Number,
  /** Most requests answered at once since the last reset. */
  maxInFlight: Schema.Number,
  /** 429s: injected, or beyond `maxConcurrent` / `requestsPerMinute`. */
  rateLimited: Schema.Number,
  /** Injected 500s and 503s. */
  serverErrors: Schema.Number,
  /** Connections destroyed before an answer. */
  resets: Schema.Number,
  /** Requests whose client went away before the answer finished. */
  abortedByClient: Schema.Number,
  /** Answers delivered in full. */
  completed: Schema.Number,
  /** Streams cut short on purpose (the `truncate` fault). */
  truncated: Schema.Number,
  /** Replies that carried an in-band error (the `inBandError` fault). */
  inBandErrors: Schema.Number,
  /** Answers broken on purpose (the `malformed` fault). */
  malformed: Schema.Number,
  /** Answers written with near-misses (the `drift` option). */
  drifted: Schema.Number,
  /** Requests rejected with 400. */
  badRequests: Schema.Number,
  /** Requests rejected with 401. */
  unauthorized: Schema.Number,
  /** Requests per route path. */
  byRoute: Schema.Record({ key: Schema.String, value: Schema.Number })
})

/** Counters of an instance. */
export type Counters = typeof Counters.Type

/** How an admitted request ended. */
export type Ending = "completed" | "truncated" | "inBandError" | "aborted" | "failed"

type Count = Exclude<keyof Counters, "byRoute">

const zero = (inFlight: number): { -readonly [K in Count]: number } => {
  const counts = {} as { -readonly [K in Count]: number }
  for (const key of Object.keys(Counters.fields) as Array<keyof Counters>) if (key !== "byRoute") counts[key] = 0
  return { ...counts, inFlight, maxInFlight: inFlight }
}

const byEnding: Readonly<Record<Ending, Count | undefined>> = {
  completed: "completed",
  truncated: "truncated",
  inBandError: "inBandErrors",
  aborted: "abortedByClient",
  failed: undefined
}

/** The mutable counts of one instance. */
export class Tally {
  private counts = zero(0)
  private byRoute: Record<string, number> = {}

  /** A request on a route (every request, answered or not). */
  request(route: string): void {
    this.counts.requests++
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1
  }

  add(count: Exclude<Count, "requests" | "inFlight" | "maxInFlight">): void {
    this.counts[count]++
  }

  get inFlight(): number {
    return this.counts.inFlight
  }

  admitted(): void {
    const c = this.counts
    c.inFlight++
    if (c.inFlight > c.maxInFlight) c.maxInFlight = c.inFlight
  }

  ended(ending: Ending): void {
    this.counts.inFlight--
    const count = byEnding[ending]
    if (count !== undefined) this.counts[count]++
  }

  snapshot(): Counters {
    return { ...this.counts, byRoute: { ...this.byRoute } }
  }

  /** Zeroes the counts; requests in flight stay counted. */
  reset(): void {
    this.counts = zero(this.counts.inFlight)
    this.byRoute = {}
  }
}
