/**
 * Waiting until an instant of Effect's clock, to within a few microseconds.
 *
 * A timer alone is off by up to a couple of milliseconds: Node starts it from the event
 * loop's cached time (already stale while a request is being handled) and fires it on the
 * loop's millisecond ticks, so it often fires up to ~1.7 ms early, and a timer armed again
 * for the rest waits at least 1 ms. For the simulator's latency that error lands on every
 * request (15 rounds of 1-2 ms is 1-2% of a 1.5 s batch). So the wait sleeps on a timer
 * until shortly before the instant, then checks the clock once per turn of the event loop
 * (`setImmediate`, which lets I/O through) until the instant is reached: about a
 * millisecond of polling per request instead of that error.
 *
 * On `TestClock` the timer part is the test clock's sleep and the polling reads the test
 * clock, so tests drive it with `TestClock.adjust`.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Waker from "./waker.js"

/** Within this much of the instant, the clock is polled rather than a timer armed. */
export const POLL_WINDOW_MILLIS = 3.5

/** The timer aims this much before the instant (timers fire up to this much late). */
const TIMER_LEAD_MILLIS = 1.5

const noop = (): void => {}

/**
 * Actions due at instants of one clock, run by whoever first sees their instant pass: the
 * poller's own check, once per turn of the event loop, or the server, which calls `flush`
 * between two pieces of its own work (a request arriving, a request handled), so that a due
 * reply is not held back behind a queue of requests to handle. One shared check per turn for
 * all waiting replies, not one each.
 *
 * @internal
 */
export interface Poller {
  /** Woken at each instant by a worker thread (`waker.ts`) instead of checking once per turn. */
  readonly wakesItself: boolean
  /**
   * Runs `run` once the clock reads `deadline`; the returned function cancels it. `run` must not
   * throw (it runs inside whoever flushes; `sleepUntil` turns a throw into its fiber's defect).
   */
  readonly add: (deadline: bigint, run: () => void) => () => void
  /** Runs every action now due (in deadline order). */
  readonly flush: () => void
  /** Stops the waker's worker, if any. */
  readonly close: () => void
}

interface Due {
  readonly deadline: bigint
  readonly run: () => void
}

const byDeadline = (a: Due, b: Due): number => (a.deadline < b.deadline ? -1 : a.deadline > b.deadline ? 1 : 0)

/**
 * A poller on `clock`. With `waker`, a worker thread wakes it at each instant (the live clock
 * only: the worker sleeps on the process's monotonic clock; the worker does not keep the process
 * alive, a server's socket does); else it checks once per event-loop turn while anything waits
 * (any clock, `TestClock` included). A wait the worker cannot serve (another clock, the worker
 * failed or closed) falls back to the per-turn check rather than waiting for ever.
 *
 * @internal
 */
export const makePoller = (clock: Clock.Clock, options: { readonly waker?: boolean } = {}): Poller => {
  // The live clock is the process's monotonic clock plus a fixed origin; the worker sleeps on
  // the former, so it serves only a clock at that fixed offset (a `TestClock` is not: it does not
  // move with real time).
  const offsetNow = () => clock.unsafeCurrentTimeNanos() - process.hrtime.bigint()
  const offset = offsetNow()
  const onLiveClock = () => {
    const drift = offsetNow() - offset
    return drift > -1_000_000n && drift < 1_000_000n
  }
  let waiting: Array<Due> = []
  let handle: ReturnType<typeof setImmediate> | undefined
  let waker: Waker.Waker | undefined
  let wakerUsable = options.waker === true &&
    Math.abs(Number(clock.unsafeCurrentTimeNanos() / 1_000_000n) - Date.now()) < 60_000
  const flush = (): void => {
    if (waiting.length === 0) return
    const now = clock.unsafeCurrentTimeNanos()
    let due: Array<Due> | undefined
    const kept: Array<Due> = []
    for (const d of waiting) {
      if (d.deadline <= now) (due ??= []).push(d)
      else kept.push(d)
    }
    if (due === undefined) return
    // removed before running: an action may add another
    waiting = kept
    if (due.length > 1) due.sort(byDeadline)
    for (const d of due) d.run()
  }
  const check = (): void => {
    handle = undefined
    flush()
    // an action may have added a wait, and with it a check already
    if (waiting.length > 0) handle ??= setImmediate(check)
  }
  // the per-turn check for whatever waits, when the worker cannot serve it
  const fallBack = () => {
    if (waiting.length > 0) handle ??= setImmediate(check)
  }
  const stopWaker = () => {
    wakerUsable = false
    waker?.close()
    waker = undefined
    fallBack()
  }
  // started with the poller, so that the first reply does not wait for a thread to start
  if (wakerUsable) {
    waker = Waker.make(() => {
      flush()
      // woken by real time but the clock says otherwise: not the live clock after all
      if (!onLiveClock()) fallBack()
    }, stopWaker)
  }
  const add = (deadline: bigint, run: () => void) => {
    const entry: Due = { deadline, run }
    waiting.push(entry)
    if (waker !== undefined && onLiveClock()) waker.at(deadline - offset)
    else handle ??= setImmediate(check)
    return () => {
      const i = waiting.indexOf(entry)
      if (i !== -1) waiting.splice(i, 1)
      if (waiting.length === 0 && handle !== undefined) {
        clearImmediate(handle)
        handle = undefined
      }
    }
  }
  return {
    // read at each wait: after a failure or close the timer comes first again
    get wakesItself() {
      return waker !== undefined
    },
    add,
    flush,
    close: stopWaker
  }
}

/**
 * Waits on the poller until the clock reads `deadline` (nanoseconds), running `onDue` the
 * moment it is seen, then resumes.
 */
const pollUntil = (poller: Poller, deadline: bigint, onDue: () => void): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const cancel = poller.add(deadline, () => {
      // A throw would end up wherever `flush` was called (a raw `setImmediate`: an uncaught
      // exception ending the process): make it the fiber's defect.
      try {
        onDue()
      } catch (defect) {
        resume(Effect.die(defect))
        return
      }
      resume(Effect.void)
    })
    return Effect.sync(cancel)
  })

/**
 * Waits until the clock reads `deadline` (nanoseconds): on a timer until it is within
 * `POLL_WINDOW_MILLIS`, then on `poller` (by default one of its own on the fiber's clock).
 * `onDue` runs the moment the deadline is seen, before the fiber resumes (which comes after
 * whatever else that event-loop turn runs first): for work that must happen on time, like
 * writing a reply. Interrupted before, it does not run.
 *
 * @internal
 */
export const sleepUntil = (deadline: bigint, onDue: () => void = noop, poller?: Poller): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const remaining = Number(deadline - clock.unsafeCurrentTimeNanos()) / 1e6
    if (remaining <= 0) return Effect.sync(onDue)
    // a poller woken by its worker needs no timer first (the worker has its own)
    if (remaining <= POLL_WINDOW_MILLIS || poller?.wakesItself === true) {
      return pollUntil(poller ?? makePoller(clock), deadline, onDue)
    }
    // a timer that fires early (by the loop's stale time) is simply armed again
    return Effect.zipRight(clock.sleep(Duration.millis(remaining - TIMER_LEAD_MILLIS)), sleepUntil(deadline, onDue, poller))
  })
