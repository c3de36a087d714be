/**
 * A stream's idle timeout (the longest wait for its next chunk, the first included) at a cost
 * per stream, not per chunk.
 *
 * Why not `Stream.timeoutFail`: it wraps every pull in `Effect.timeoutFailCause`, a race of the
 * pull against a timer: a fiber and a timer per chunk, and a paced model stream is one token per
 * chunk. Measured with `packages/bench/src/simulator/streamStages.ts` (stage `model+policy`
 * against `model`): the per-pull timeout cost ~200 µs of CPU per token, more than the provider's
 * whole stream. Here the stream runs in one fiber that hands its chunks over a `Mailbox` (one
 * hand-off per chunk; a slow reader takes everything ready at once), and one watchdog fiber
 * per stream sleeps until the deadline of the wait under way. Time spent waiting on a slow reader
 * is not a wait for the stream: the clock runs only while the stream is being pulled.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"

/** Parts read ahead of the reader, at most. */
const readAhead = 256

/** @internal */
export const idleTimeout = <A, E, R, E2>(
  self: Stream.Stream<A, E, R>,
  duration: Duration.DurationInput,
  onTimeout: () => E2
): Stream.Stream<A, E | E2, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const millis = Duration.toMillis(duration)
    const clock = yield* Effect.clock
    const mailbox = yield* Mailbox.make<A, E | E2>({ capacity: readAhead, strategy: "suspend" })
    // when the wait for the stream's next chunk began; -1 while the reader holds it up
    let since = clock.unsafeCurrentTimeMillis()
    const produce = Stream.runForEachChunk(self, (chunk) => {
      since = -1
      return Effect.map(mailbox.offerAll(chunk), () => {
        since = clock.unsafeCurrentTimeMillis()
      })
    })
    const watchdog: Effect.Effect<never, E2> = Effect.suspend(() => {
      if (since === -1) return Effect.zipRight(Effect.sleep(millis), watchdog)
      const left = since + millis - clock.unsafeCurrentTimeMillis()
      return left <= 0 ? Effect.fail(onTimeout()) : Effect.zipRight(Effect.sleep(left), watchdog)
    })
    yield* Effect.raceFirst(produce, watchdog).pipe(Mailbox.into(mailbox), Effect.forkScoped)
    return Mailbox.toStream(mailbox)
  }))
