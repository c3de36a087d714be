/**
 * A `RateLimiterStore` for `@effect/experimental`'s `RateLimiter` on PostgreSQL, so that every
 * process sharing a database shares one limit (an account's requests or tokens per minute
 * across the runners of a distributed batch). `@effect/experimental` ships a memory store and
 * a Redis one; this is the PostgreSQL counterpart of the Redis store: the same two algorithms,
 * each one atomic server-side function (PL/pgSQL here, Lua there), one round trip per call.
 *
 * Time is the database's clock (`clock_timestamp()`, read after the row lock is taken), so
 * processes whose clocks disagree still share one bucket. The tables and functions are created
 * when the layer is built, under a transaction-scoped advisory lock so that processes starting
 * together do not race.
 *
 * Beyond the memory store: a token bucket never holds more than its `limit`, also when a
 * negative `tokens` (a refund of an over-estimate) is consumed.
 *
 * @example
 * ```ts
 * import { PgRateLimiterStore } from "@effect-dspy/cluster"
 * import { RateLimiter } from "@effect/experimental"
 * import { Effect, Layer } from "effect"
 *
 * // 600 requests per minute shared by every process using this database
 * const program = Effect.gen(function*() {
 *   const limiter = yield* RateLimiter.RateLimiter
 *   const { delay } = yield* limiter.consume({ key: "openai", limit: 10, window: "1 second", algorithm: "token-bucket", onExceeded: "delay" })
 *   yield* Effect.sleep(delay)
 * }).pipe(Effect.provide(RateLimiter.layer.pipe(Layer.provide(PgRateLimiterStore.layer()))))
 * ```
 *
 * @since 0.2.0
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Options of the store.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Prefix of the tables and functions (a lower-case SQL identifier). Default `effect_dspy`. */
  readonly prefix?: string | undefined
}

const identifier = /^[a-z_][a-z0-9_]{0,39}$/

const storeError = (operation: string) => (cause: SqlError.SqlError) =>
  new RateLimiter.RateLimitStoreError({ message: `${operation} on PostgreSQL failed: ${cause.message}`, cause })

/** The DDL: two tables and the two functions (names derived from the prefix). */
const ddl = (prefix: string): ReadonlyArray<string> => {
  const windows = `${prefix}_rate_limit_windows`
  const buckets = `${prefix}_rate_limit_buckets`
  return [
    `CREATE TABLE IF NOT EXISTS ${windows} (
      key TEXT PRIMARY KEY,
      count DOUBLE PRECISION NOT NULL,
      expires_at DOUBLE PRECISION NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ${buckets} (
      key TEXT PRIMARY KEY,
      tokens DOUBLE PRECISION NOT NULL,
      refilled_at DOUBLE PRECISION NOT NULL
    )`,
    // Fixed window: the count after taking `tokens` and the milliseconds until it expires; an
    // expired window starts again from zero. Over `limit`, the count returned exceeds it and
    // nothing is stored.
    `CREATE OR REPLACE FUNCTION ${prefix}_rate_limit_fixed_window(
      p_key TEXT, p_tokens DOUBLE PRECISION, p_refill_ms DOUBLE PRECISION, p_limit DOUBLE PRECISION
    ) RETURNS TABLE (count DOUBLE PRECISION, ttl DOUBLE PRECISION) LANGUAGE plpgsql AS $$
    DECLARE
      v_now DOUBLE PRECISION;
      v_count DOUBLE PRECISION;
      v_expires DOUBLE PRECISION;
    BEGIN
      INSERT INTO ${windows} AS w (key, count, expires_at) VALUES (p_key, 0, 0) ON CONFLICT (key) DO NOTHING;
      SELECT w.count, w.expires_at INTO v_count, v_expires FROM ${windows} AS w WHERE w.key = p_key FOR UPDATE;
      v_now := extract(epoch FROM clock_timestamp()) * 1000;
      IF v_expires <= v_now THEN
        v_count := 0;
        v_expires := v_now;
      END IF;
      IF p_limit IS NOT NULL AND v_count > 0 AND v_count + p_tokens > p_limit THEN
        RETURN QUERY SELECT v_count + p_tokens, v_expires - v_now;
        RETURN;
      END IF;
      v_count := v_count + p_tokens;
      v_expires := v_expires + p_refill_ms * p_tokens;
      UPDATE ${windows} AS w SET count = v_count, expires_at = v_expires WHERE w.key = p_key;
      RETURN QUERY SELECT v_count, v_expires - v_now;
    END $$`,
    // Token bucket: the tokens left after taking `tokens` (negative: short of them). It starts
    // full, gains one token per `p_refill_ms` up to `limit`; without overflow, a take that would
    // go below zero is not stored.
    `CREATE OR REPLACE FUNCTION ${prefix}_rate_limit_token_bucket(
      p_key TEXT, p_tokens DOUBLE PRECISION, p_limit DOUBLE PRECISION, p_refill_ms DOUBLE PRECISION, p_overflow BOOLEAN
    ) RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
    DECLARE
      v_now DOUBLE PRECISION := extract(epoch FROM clock_timestamp()) * 1000;
      v_tokens DOUBLE PRECISION;
      v_refilled DOUBLE PRECISION;
      v_steps DOUBLE PRECISION;
      v_next DOUBLE PRECISION;
    BEGIN
      INSERT INTO ${buckets} AS b (key, tokens, refilled_at) VALUES (p_key, p_limit, v_now) ON CONFLICT (key) DO NOTHING;
      SELECT b.tokens, b.refilled_at INTO v_tokens, v_refilled FROM ${buckets} AS b WHERE b.key = p_key FOR UPDATE;
      v_now := extract(epoch FROM clock_timestamp()) * 1000;
      v_steps := floor((v_now - v_refilled) / p_refill_ms);
      IF v_steps > 0 THEN
        v_tokens := least(p_limit, v_tokens + v_steps);
        v_refilled := v_refilled + v_steps * p_refill_ms;
      END IF;
      v_next := v_tokens - p_tokens;
      IF v_next < 0 AND NOT p_overflow THEN
        UPDATE ${buckets} AS b SET tokens = v_tokens, refilled_at = v_refilled WHERE b.key = p_key;
      ELSE
        UPDATE ${buckets} AS b SET tokens = least(p_limit, v_next), refilled_at = v_refilled WHERE b.key = p_key;
      END IF;
      RETURN least(p_limit, v_next);
    END $$`
  ]
}

/**
 * Creates the store's tables and functions if needed (under an advisory lock) and returns the store.
 *
 * @since 0.2.0
 */
export const make = (options: Options = {}): Effect.Effect<RateLimiter.RateLimiterStore["Type"], SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const prefix = options.prefix ?? "effect_dspy"
    if (!identifier.test(prefix)) return yield* Effect.dieMessage(`PgRateLimiterStore: bad prefix ${JSON.stringify(prefix)}`)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`effect-dspy/rate-limits/${prefix}`}))`
      for (const statement of ddl(prefix)) yield* sql.unsafe(statement)
    }))
    const fixedWindow = sql(`${prefix}_rate_limit_fixed_window`)
    const tokenBucket = sql(`${prefix}_rate_limit_token_bucket`)
    return RateLimiter.RateLimiterStore.of({
      fixedWindow: (o) =>
        sql<{ count: number; ttl: number }>`
          SELECT count, ttl FROM ${fixedWindow}(${o.key}::text, ${o.tokens}::float8, ${
          Duration.toMillis(o.refillRate)
        }::float8, ${o.limit ?? null}::float8)
        `.pipe(
          Effect.map((rows) => [Number(rows[0]?.count ?? 0), Math.max(0, Number(rows[0]?.ttl ?? 0))] as const),
          Effect.mapError(storeError("fixedWindow")),
          Effect.withTracerEnabled(false)
        ),
      tokenBucket: (o) =>
        sql<{ remaining: number }>`
          SELECT ${tokenBucket}(${o.key}::text, ${o.tokens}::float8, ${o.limit}::float8, ${
          Duration.toMillis(o.refillRate)
        }::float8, ${o.allowOverflow}::boolean) AS remaining
        `.pipe(
          Effect.map((rows) => Number(rows[0]?.remaining ?? 0)),
          Effect.mapError(storeError("tokenBucket")),
          Effect.withTracerEnabled(false)
        )
    })
  })

/**
 * The store as a layer (needs a `SqlClient` on PostgreSQL).
 *
 * @since 0.2.0
 */
export const layer = (options: Options = {}): Layer.Layer<RateLimiter.RateLimiterStore, SqlError.SqlError, SqlClient.SqlClient> =>
  Layer.effect(RateLimiter.RateLimiterStore, make(options))
