/**
 * What a simulator instance counts (served by the server at `GET /_sim/counters`).
 */

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
  readonly inBandErrors: number
  readonly malformed: number
  readonly drifted: number
  readonly badRequests: number
  readonly unauthorized: number
  readonly byRoute: Readonly<Record<string, number>>
}

/** How an admitted request ended. */
export type Ending = "completed" | "truncated" | "inBandError" | "aborted" | "failed"

type Count = Exclude<keyof Counters, "byRoute">

const zero = (inFlight: number): { -readonly [K in Count]: number } => ({
  requests: 0,
  inFlight,
  maxInFlight: inFlight,
  rateLimited: 0,
  serverErrors: 0,
  resets: 0,
  abortedByClient: 0,
  completed: 0,
  truncated: 0,
  inBandErrors: 0,
  malformed: 0,
  drifted: 0,
  badRequests: 0,
  unauthorized: 0
})

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
