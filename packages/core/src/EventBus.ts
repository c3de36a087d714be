/**
 * A typed event bus with wildcard subscriptions (`lm.*`, `module.*`, `*`).
 *
 * Publishing never blocks and never fails: each subscriber has its own bounded buffer that
 * drops the oldest event when full and counts what it dropped, so a slow or failing
 * subscriber cannot slow down or break the program that emits.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { DspyEvent } from "./DspyEvent.js"

/**
 * An event without its timestamp; the bus stamps it from Effect's Clock.
 *
 * @since 0.1.0
 */
export type Unstamped<E extends DspyEvent = DspyEvent> = E extends DspyEvent ? Omit<E, "timestamp"> : never

/**
 * A live subscription: its events as a stream, and how many it dropped.
 *
 * @since 0.1.0
 */
export interface Subscription {
  readonly events: Stream.Stream<DspyEvent>
  readonly dropped: Effect.Effect<number>
}

/**
 * The bus.
 *
 * @since 0.1.0
 */
export interface Service {
  /** False when nobody listens: emitters skip building events. */
  readonly active: () => boolean
  /** Delivers an event to every matching subscriber without waiting. */
  readonly publish: (event: Unstamped) => Effect.Effect<void>
  /** A fresh id for correlating start and end events. */
  readonly nextCallId: () => number
  /** Subscribes for the lifetime of the scope. */
  readonly subscribe: (
    pattern: string,
    options?: { readonly bufferSize?: number | undefined }
  ) => Effect.Effect<Subscription, never, Scope.Scope>
}

/**
 * The event bus in context. The default bus has no subscribers and costs nothing;
 * provide `EventBus.layer` to listen.
 *
 * @since 0.1.0
 */
export class EventBus extends Context.Reference<EventBus>()("@effect-dspy/core/EventBus", {
  defaultValue: (): Service => disabled
}) {}

const disabled: Service = {
  active: () => false,
  publish: () => Effect.void,
  nextCallId: () => 0,
  subscribe: () => Effect.succeed({ events: Stream.empty, dropped: Effect.succeed(0) })
}

/**
 * Compiles a subscription pattern: `*` matches any run of characters (dots included),
 * anything else matches itself. `lm.*` matches `lm.start` and `lm.end`; `*` matches all.
 *
 * @since 0.1.0
 */
export const compilePattern = (pattern: string): (type: string) => boolean => {
  if (pattern === "*") return () => true
  if (!pattern.includes("*")) return (type) => type === pattern
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")
  const regex = new RegExp(`^${source}$`)
  return (type) => regex.test(type)
}

interface Subscriber {
  readonly matches: (type: string) => boolean
  readonly queue: Queue.Queue<DspyEvent>
  readonly capacity: number
  dropped: number
}

/**
 * Builds a bus. Its subscriber list belongs to this bus instance only.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  let subscribers: ReadonlyArray<Subscriber> = []
  let callIds = 0

  const publish = (event: Unstamped): Effect.Effect<void> =>
    subscribers.length === 0 ? Effect.void : Effect.map(Clock.currentTimeMillis, (timestamp) => {
      const stamped = { ...event, timestamp } as DspyEvent
      for (const subscriber of subscribers) {
        if (!subscriber.matches(stamped.type)) continue
        // A sliding queue never rejects: when full it evicts the oldest, which we count.
        const size = subscriber.queue.unsafeSize()
        if (size._tag === "Some" && size.value >= subscriber.capacity) subscriber.dropped++
        subscriber.queue.unsafeOffer(stamped)
      }
    })

  const subscribe: Service["subscribe"] = (pattern, options) =>
    Effect.acquireRelease(
      Effect.map(Queue.sliding<DspyEvent>(options?.bufferSize ?? 1024), (queue) => {
        const subscriber: Subscriber = {
          matches: compilePattern(pattern),
          queue,
          capacity: options?.bufferSize ?? 1024,
          dropped: 0
        }
        subscribers = [...subscribers, subscriber]
        return subscriber
      }),
      (subscriber) =>
        Effect.suspend(() => {
          subscribers = subscribers.filter((s) => s !== subscriber)
          return Queue.shutdown(subscriber.queue)
        })
    ).pipe(Effect.map((subscriber): Subscription => ({
      events: Stream.fromQueue(subscriber.queue),
      dropped: Effect.sync(() => subscriber.dropped)
    })))

  return {
    active: () => subscribers.length > 0,
    publish,
    nextCallId: () => ++callIds,
    subscribe
  }
})

/**
 * A live bus.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<EventBus> = Layer.effect(EventBus, make)

/**
 * Publishes an event on the bus in context (a no-op when nobody listens).
 *
 * @since 0.1.0
 */
export const publish = (event: Unstamped): Effect.Effect<void> =>
  Effect.flatMap(EventBus, (bus) => bus.publish(event))

/**
 * Runs `handler` for every event matching `pattern`, in a background fiber tied to the scope.
 * A handler that fails or dies is logged and skipped; the emitting program is unaffected.
 *
 * @example
 * ```ts
 * import { EventBus } from "@effect-dspy/core"
 * import { Console, Effect } from "effect"
 * const logLmCalls = EventBus.on("lm.*", (event) => Console.log(event.type))
 * ```
 *
 * @since 0.1.0
 */
export const on = <R>(
  pattern: string,
  handler: (event: DspyEvent) => Effect.Effect<unknown, unknown, R>,
  options?: { readonly bufferSize?: number | undefined }
): Effect.Effect<Subscription, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const subscription = yield* bus.subscribe(pattern, options)
    yield* subscription.events.pipe(
      Stream.runForEach((event) =>
        handler(event).pipe(
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.void
              : Effect.logWarning(`event subscriber for "${pattern}" failed on ${event.type}`, cause)
          )
        )
      ),
      Effect.forkScoped
    )
    return subscription
  })
