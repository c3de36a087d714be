/**
 * The analyzer as a background job: items go into a bounded `Queue` and a fixed pool of worker
 * fibers takes them one at a time. A full queue makes `submit` wait (back-pressure) rather
 * than grow without bound; each item's outcome (a decision, or the error that remained after
 * the retries) is delivered through its own `Deferred`, so nothing is dropped silently.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { Deferred, Effect, Either, Queue, type Scope } from "effect"
import type { Item } from "./items.js"
import { type Decision, moderate } from "./Moderation.js"

/** What became of one item. */
export type Outcome =
  | { readonly _tag: "Decided"; readonly item: Item; readonly worker: number; readonly decision: Decision }
  | { readonly _tag: "Failed"; readonly item: Item; readonly worker: number; readonly error: string; readonly message: string }

/** Options of the job. */
export interface Options {
  /** Worker fibers, i.e. the most items being moderated at once (default 4). */
  readonly workers?: number | undefined
  /** Items waiting in the queue before `submit` waits (default 100). */
  readonly capacity?: number | undefined
}

/** A running job. */
export interface Job {
  /** Queues an item (waits while the queue is full); the deferred completes with its outcome. */
  readonly submit: (item: Item) => Effect.Effect<Deferred.Deferred<Outcome>>
  /** The most items that were being moderated at once so far. */
  readonly peakBusy: Effect.Effect<number>
}

/** Starts the workers for the lifetime of the scope; closing the scope stops them. */
export const start = (options: Options = {}): Effect.Effect<Job, never, Scope.Scope | LanguageModel.LanguageModel> =>
  Effect.gen(function*() {
    const workers = Math.max(1, options.workers ?? 4)
    const queue = yield* Effect.acquireRelease(
      Queue.bounded<readonly [Item, Deferred.Deferred<Outcome>]>(Math.max(1, options.capacity ?? 100)),
      Queue.shutdown
    )
    // Counters of this job instance only; the workers run one at a time on the JS thread.
    const load = { busy: 0, peak: 0 }

    const work = (worker: number) =>
      Effect.gen(function*() {
        const [item, done] = yield* Queue.take(queue)
        load.busy++
        load.peak = Math.max(load.peak, load.busy)
        const result = yield* Effect.either(moderate({ text: item.text, surface: item.surface })).pipe(
          Effect.ensuring(Effect.sync(() => load.busy--))
        )
        const outcome: Outcome = Either.isRight(result)
          ? { _tag: "Decided", item, worker, decision: result.right.output }
          : { _tag: "Failed", item, worker, error: result.left._tag, message: result.left.message }
        yield* Deferred.succeed(done, outcome)
      }).pipe(Effect.forever)

    for (let worker = 1; worker <= workers; worker++) yield* Effect.forkScoped(work(worker))

    return {
      submit: (item) =>
        Effect.flatMap(Deferred.make<Outcome>(), (done) => Effect.as(Queue.offer(queue, [item, done] as const), done)),
      peakBusy: Effect.sync(() => load.peak)
    }
  })
