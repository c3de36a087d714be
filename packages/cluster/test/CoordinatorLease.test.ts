/**
 * The coordinator's lease against a real server, each coordinator on a pool of its own (as a
 * process of its own): a second coordinator of a batch is refused and told who holds it; the
 * batch is free again as soon as the holder lets go or its session ends (a killed process);
 * a holder whose batch was taken meanwhile learns that it lost it.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Clock, Context, Effect, Either, Exit, Fiber, Layer, Schedule, Scope } from "effect"
import * as BatchStore from "../src/BatchStore.js"
import * as CoordinatorLease from "../src/CoordinatorLease.js"
import * as Tables from "../src/Tables.js"
import * as Pg from "./utils/postgres.js"
import * as P from "./utils/processes.js"

/** A pool of its own with the tables, and a batch `b` recorded. */
const poolOn = (url: string) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      BatchStore.layer().pipe(Layer.provide(Layer.effectDiscard(Tables.ensure())), Layer.provideMerge(Pg.client(url)))
    )
    yield* Effect.flatMap(BatchStore.BatchStore, (store) => store.open("b", { program: "qa", lanes: 4 })).pipe(Effect.provide(context))
    return context
  })

const acquireOn = (context: Context.Context<SqlClient.SqlClient>, owner: string, scope: Scope.Scope) =>
  CoordinatorLease.acquire("b", { owner, checkInterval: "300 millis", retry: "20 seconds" }).pipe(
    Effect.provide(context),
    Scope.extend(scope)
  )

describe.skipIf(!Pg.available)("CoordinatorLease", () => {
  layer(Pg.layer, { timeout: 60_000 })((it) => {
    it.scoped("a second coordinator is refused and told who holds the batch; it is free once the holder lets go", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const a = yield* poolOn(url)
        const b = yield* poolOn(url)
        const scopeA = yield* Scope.make()
        yield* acquireOn(a, "host-a:1", scopeA)
        const refused = yield* Effect.either(acquireOn(b, "host-b:2", yield* Scope.make()))
        assert.isTrue(Either.isLeft(refused))
        if (Either.isLeft(refused)) {
          assert.strictEqual(refused.left._tag, "BatchBusy")
          assert.match(refused.left.message, /batch b is being run by another coordinator \(host-a:1\)/)
        }
        yield* Scope.close(scopeA, Exit.void)
        yield* acquireOn(b, "host-b:2", yield* Effect.scope)
      }).pipe(Effect.withClock(Clock.make())))

    it.scoped("a holder whose session ends (a killed process) frees the batch at once; the holder learns it lost it", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const a = yield* poolOn(url)
        const b = yield* poolOn(url)
        const leaseA = yield* acquireOn(a, "host-a:1", yield* Effect.scope)
        const lostA = yield* Effect.fork(leaseA.lost)
        // the holder's session ends (as when its process is killed)
        const sql = yield* P.sqlOn(url)
        yield* sql`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = ${0x65647370}`
        // taken by another coordinator before the holder notices (it checks every 300 ms)
        const taken = yield* acquireOn(b, "host-b:2", yield* Effect.scope).pipe(
          Effect.retry({ times: 50, schedule: Schedule.spaced("20 millis") })
        )
        assert.isDefined(taken)
        const exit = yield* Fiber.await(lostA)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = Cause.failureOption(exit.cause)
          assert.isTrue(error._tag === "Some" && error.value._tag === "LeaseLost", String(exit))
        }
      }).pipe(Effect.withClock(Clock.make())))
  })
})
