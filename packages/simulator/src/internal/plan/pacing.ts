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

/** Waits until the clock reads `atMillis`. */
export const sleepUntil = (atMillis: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => (atMillis > now ? Effect.sleep(atMillis - now) : Effect.void))

/** How long a whole (non-streamed) reply of `outputTokens` takes. */
export const wholeMillis = (timing: Timing, outputTokens: number): number =>
  timing.firstTokenMillis + timing.perTokenMillis * outputTokens

/**
 * A position in a stream's events and when the next ones are due: token `i` is due
 * `firstTokenMillis + i * perTokenMillis` after `startMillis`, an in-band error when the next
 * token would be, every other event with the token before it (those before the first token at
 * once). Due times are anchored at the start, so a stream read late sends more at once instead
 * of falling behind.
 */
export interface Cursor {
  /** Every event was taken. */
  readonly done: boolean
  /** When the next event is due (clock milliseconds). */
  readonly nextDue: () => number
  /** Every event due by `nowMillis`, in order. */
  readonly take: (nowMillis: number) => ReadonlyArray<Event>
}

/** A cursor at the start of `events`. */
export const cursor = (events: Iterable<Event>, timing: Timing, startMillis: number): Cursor => {
  const iterator = events[Symbol.iterator]()
  let next = iterator.next()
  let tokens = 0
  let lastDue = 0
  const unpaced = timing.firstTokenMillis <= 0 && timing.perTokenMillis <= 0
  const dueOf = (event: Event): number =>
    startMillis + (unpaced
      ? 0
      : isToken(event) || event._tag === "Error"
      ? timing.firstTokenMillis + tokens * timing.perTokenMillis
      : lastDue)
  return {
    get done() {
      return next.done === true
    },
    nextDue: () => next.done === true ? Infinity : dueOf(next.value),
    take: (nowMillis) => {
      const due: Array<Event> = []
      while (next.done !== true) {
        const event = next.value
        const at = dueOf(event)
        if (at > nowMillis) break
        due.push(event)
        if (isToken(event)) {
          tokens++
          lastDue = at - startMillis
        }
        next = iterator.next()
      }
      return due
    }
  }
}

/**
 * The events on the clock (see {@link Cursor}), each batch due together written by `write`;
 * `onEnd` runs once the last event is written. One stream stage: a token costs one pull.
 */
export const paced = <A>(
  events: Iterable<Event>,
  timing: Timing,
  startMillis: number,
  write: (due: ReadonlyArray<Event>) => Chunk.Chunk<A>,
  onEnd: () => void
): Stream.Stream<A> =>
  Stream.suspend(() => {
    const position = cursor(events, timing, startMillis)
    const takeDue = (now: number): Chunk.Chunk<A> => {
      const out = write(position.take(now))
      if (position.done) onEnd()
      return out
    }
    const pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<never>> = Effect.suspend(() => {
      if (position.done) return Effect.fail(Option.none())
      return Effect.zipRight(sleepUntil(position.nextDue()), Effect.map(Clock.currentTimeMillis, takeDue))
    })
    return Stream.repeatEffectChunkOption(pull)
  })
