/**
 * When a reply's parts are due, on Effect's `Clock` (so `TestClock` drives every wait): a
 * non-streamed reply after its latency and all its tokens; a stream's first token after the
 * latency, each next one a token's time after the one before. Replies may be late by the event
 * loop's jitter; that is fine for a fake model.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type Event, isToken } from "./events.js"

/** A reply's timing, in milliseconds. */
export interface Timing {
  /** Until the first token (streams) or the start of a whole reply. */
  readonly firstTokenMillis: number
  /** Between two tokens. */
  readonly perTokenMillis: number
}

/** Waits until `millis` after `startMillis` on the clock. */
export const sleepUntil = (startMillis: number, millis: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const wait = startMillis + millis - now
    return wait > 0 ? Effect.sleep(wait) : Effect.void
  })

/** How long a whole (non-streamed) reply of `outputTokens` takes. */
export const wholeMillis = (timing: Timing, outputTokens: number): number =>
  timing.firstTokenMillis + timing.perTokenMillis * outputTokens

/**
 * The events on the clock, from `startMillis`, each batch written by `write`: token `i` is due
 * `firstTokenMillis + i * perTokenMillis` after the start, an in-band error when the next token
 * would be, every other event with the token before it (those before the first token at once).
 * Due times are anchored at the start and each wake-up writes everything then due as one batch:
 * a stream read late (a loaded process) sends more at once instead of falling behind. `onEnd`
 * runs once the last event is written. One stream stage, so that a token costs one pull.
 */
export const paced = <A>(
  events: Iterable<Event>,
  timing: Timing,
  startMillis: number,
  write: (due: ReadonlyArray<Event>) => Chunk.Chunk<A>,
  onEnd: () => void
): Stream.Stream<A> =>
  Stream.suspend(() => {
    const iterator = events[Symbol.iterator]()
    let next = iterator.next()
    let tokens = 0
    let lastDue = 0
    const unpaced = timing.firstTokenMillis <= 0 && timing.perTokenMillis <= 0
    const dueOf = (event: Event): number =>
      unpaced ? 0 : isToken(event) || event._tag === "Error"
        ? timing.firstTokenMillis + tokens * timing.perTokenMillis
        : lastDue
    const takeDue = (now: number): Chunk.Chunk<A> => {
      const due: Array<Event> = []
      while (next.done !== true) {
        const event = next.value
        const at = dueOf(event)
        if (startMillis + at > now) break
        due.push(event)
        if (isToken(event)) {
          tokens++
          lastDue = at
        }
        next = iterator.next()
      }
      if (next.done === true) onEnd()
      return write(due)
    }
    const pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<never>> = Effect.suspend(() => {
      if (next.done === true) return Effect.fail(Option.none())
      if (unpaced) return Effect.sync(() => takeDue(Infinity))
      return Effect.zipRight(
        sleepUntil(startMillis, dueOf(next.value)),
        Effect.map(Clock.currentTimeMillis, takeDue)
      )
    })
    return Stream.repeatEffectChunkOption(pull)
  })
