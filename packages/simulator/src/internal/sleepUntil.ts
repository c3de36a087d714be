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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** Within this much of the instant, the clock is polled rather than a timer armed. */
export const POLL_WINDOW_MILLIS = 2.5

/** The timer aims this much before the instant (timers fire up to this much late). */
const TIMER_LEAD_MILLIS = 0.5

const noop = (): void => {}

/**
 * Polls the clock once per event-loop turn until it reads `deadline` (nanoseconds), then runs
 * `onDue` at once (in that turn) and resumes.
 */
const pollUntil = (deadline: bigint, onDue: () => void): Effect.Effect<void> =>
  Effect.clockWith((clock) =>
    Effect.async<void>((resume) => {
      let handle: ReturnType<typeof setImmediate> | undefined
      const check = () => {
        if (clock.unsafeCurrentTimeNanos() < deadline) {
          handle = setImmediate(check)
          return
        }
        // In a raw `setImmediate` a throw would be uncaught and end the process: make it the fiber's defect.
        try {
          onDue()
        } catch (defect) {
          resume(Effect.die(defect))
          return
        }
        resume(Effect.void)
      }
      handle = setImmediate(check)
      return Effect.sync(() => clearImmediate(handle))
    })
  )

/**
 * Waits until the clock reads `deadline` (nanoseconds): on a timer until it is within
 * `POLL_WINDOW_MILLIS`, then polling. `onDue` runs the moment the deadline is seen, before
 * the fiber resumes (which comes after whatever else that event-loop turn runs first): for
 * work that must happen on time, like writing a reply. Interrupted before, it does not run.
 *
 * @internal
 */
export const sleepUntil = (deadline: bigint, onDue: () => void = noop): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const remaining = Number(deadline - clock.unsafeCurrentTimeNanos()) / 1e6
    if (remaining <= 0) return Effect.sync(onDue)
    if (remaining <= POLL_WINDOW_MILLIS) return pollUntil(deadline, onDue)
    // a timer that fires early (by the loop's stale time) is simply armed again
    return Effect.zipRight(clock.sleep(Duration.millis(remaining - TIMER_LEAD_MILLIS)), sleepUntil(deadline, onDue))
  })
