/**
 * `@effect-dspy/cluster`: distributed batches on `@effect/cluster` with PostgreSQL: runners,
 * the coordinator, the results and rate-limit stores. The `effect-dspy` command
 * (`@effect-dspy/cli`) mounts them as `runner`, `batch --cluster`, `status`, `export`, `cleanup`
 * and `postgres`.
 *
 * The local throwaway server starts processes, so it is not re-exported here: import
 * `@effect-dspy/cluster/LocalPostgres` directly.
 *
 * @since 0.2.0
 */

/**
 * The database connection, sharding settings, and the runner and client memberships.
 *
 * @since 0.2.0
 */
export * as Cluster from "./Cluster.js"

/**
 * The coordinator: a file's items to the cluster's runners and back, resumable by batch id.
 *
 * @since 0.2.0
 */
export * as DistributedBatch from "./DistributedBatch.js"

/**
 * One coordinator per batch at a time.
 *
 * @since 0.2.0
 */
export * as CoordinatorLease from "./CoordinatorLease.js"

/**
 * A runner: joins the cluster and runs items, as one layer.
 *
 * @since 0.2.0
 */
export * as Runner from "./Runner.js"

/**
 * The batch item entity and its protocol.
 *
 * @since 0.2.0
 */
export * as ItemEntity from "./ItemEntity.js"

/**
 * How a runner runs items: process-wide concurrency, an outcome for every error, stored once.
 *
 * @since 0.2.0
 */
export * as ItemExecutor from "./ItemExecutor.js"

/**
 * Batches and their results in PostgreSQL.
 *
 * @since 0.2.0
 */
export * as BatchStore from "./BatchStore.js"

/**
 * What each runner serves, with a heartbeat.
 *
 * @since 0.2.0
 */
export * as RunnerRegistry from "./RunnerRegistry.js"

/**
 * An account's limits across every runner.
 *
 * @since 0.2.0
 */
export * as GlobalLimiter from "./GlobalLimiter.js"

/**
 * A `RateLimiterStore` for `@effect/experimental`'s `RateLimiter` on PostgreSQL.
 *
 * @since 0.2.0
 */
export * as PgRateLimiterStore from "./PgRateLimiterStore.js"

/**
 * The tables, created on first start.
 *
 * @since 0.2.0
 */
export * as Tables from "./Tables.js"

/**
 * Status, export and cleanup.
 *
 * @since 0.2.0
 */
export * as Operations from "./Operations.js"
