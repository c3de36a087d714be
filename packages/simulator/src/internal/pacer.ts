/**
 * Paces the simulator's streamed replies with one shared tick instead of a timer (and a
 * fiber step) per token: every tick writes, for each open stream, all the frames that are
 * due by then in one push. Due times are anchored at the stream's start (token `i` is due
 * at `start + first + i * per`), so a late tick sends more frames at once instead of
 * stretching the answer: under load the stream self-batches and keeps its pace.
 *
 * One pacer belongs to one router (no global state). Its tick runs in one fiber, started
 * when a stream registers and ended when none is left, on Effect's clock (a TestClock
 * drives it in tests).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Readable } from "node:stream"
import type { SsePlan } from "./wire.js"

/** Time between ticks: 10 ms keeps a 50 tokens/s stream within half a token of its pace. */
const TICK_MILLIS = 10

interface Paced {
  readonly readable: Readable
  readonly plan: SsePlan
  readonly count: number
  readonly start: number
  readonly first: number
  readonly per: number
  readonly withTail: boolean
  readonly onDone: () => void
  next: number
  closed: boolean
}

/** @internal */
export interface Pacer {
  /**
   * Streams `count` frames of the plan into the readable (its head already pushed): the
   * first `first` ms after the start (`elapsed` ms ago; default now), then one every `per`
   * ms, then the tail (when `withTail`) and the end. Closing the scope stops it.
   */
  readonly add: (options: {
    readonly elapsed?: number | undefined
    readonly readable: Readable
    readonly plan: SsePlan
    readonly count: number
    readonly first: number
    readonly per: number
    readonly withTail: boolean
    readonly onDone: () => void
  }) => Effect.Effect<void, never, Scope.Scope>
}

/** @internal */
export const make = (): Pacer => {
  const streams: Array<Paced> = []
  let running = false

  // Writes what is due; returns whether the stream is finished.
  const step = (s: Paced, now: number): boolean => {
    if (s.closed) return true
    let chunk = ""
    while (s.next < s.count && s.start + s.first + s.next * s.per <= now) chunk += s.plan.frame(s.next++)
    const finished = s.next >= s.count
    if (finished && s.withTail) chunk += s.plan.tail()
    if (chunk !== "") s.readable.push(chunk)
    if (finished) {
      s.closed = true
      s.readable.push(null)
      s.onDone()
    }
    return finished
  }

  const tick = (now: number): void => {
    let kept = 0
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i]!
      if (!step(s, now)) streams[kept++] = s
    }
    streams.length = kept
  }

  const loop: Effect.Effect<void> = Effect.suspend(() => {
    if (streams.length === 0) {
      running = false
      return Effect.void
    }
    return Effect.zipRight(
      Effect.sleep(TICK_MILLIS),
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        tick(now)
        return loop
      })
    )
  })

  const add: Pacer["add"] = (options) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const s: Paced = { ...options, start: now - (options.elapsed ?? 0), next: 0, closed: false }
      // whatever is due at once goes out now
      if (step(s, now)) return Effect.void
      streams.push(s)
      return Effect.zipRight(
        Effect.addFinalizer(() => Effect.sync(() => (s.closed = true))),
        running ? Effect.void : Effect.suspend(() => {
          running = true
          // Not scoped to this request: the tick serves every stream of the router and
          // ends by itself when the last one is done or closed.
          return Effect.asVoid(Effect.forkDaemon(loop))
        })
      )
    })

  return { add }
}
