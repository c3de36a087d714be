/**
 * How a process joins the cluster: the database connection, the sharding settings (with
 * defaults for batch work: a dead runner's shards move in seconds, not in the library's
 * minute), and the `@effect/cluster` layers over PostgreSQL for a runner (serves entities on a
 * socket) and for a client (the coordinator: sends, serves nothing).
 *
 * The layers are built from `@effect/cluster`'s own pieces (`SocketRunner`, `SqlMessageStorage`,
 * `SqlRunnerStorage`, `RunnerHealth.layerPing`) with the settings given here, not from the
 * environment: `NodeClusterSocket.layer` reads `ShardingConfig` from environment variables such
 * as `PORT` and `HOST`, which a deployment sets for other reasons.
 *
 * @since 0.2.0
 */
import * as Redaction from "@effect-dspy/core/Redaction"
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/**
 * Sharding settings of a process. Every runner and the coordinator of one cluster must agree
 * on `shardsPerGroup`.
 *
 * @since 0.2.0
 */
export interface Settings {
  /** How often a runner pings the others; a runner that does not answer loses its shards. Default 2 s. */
  readonly healthCheckInterval: Duration.DurationInput
  /**
   * How often a runner refreshes its shard locks and its heartbeat; also how long one refresh
   * may take before the runner thinks the database is gone and drops its shards. Default 5 s.
   */
  readonly shardLockRefreshInterval: Duration.DurationInput
  /**
   * A runner whose heartbeat is older than this is dropped: the fallback when pings cannot
   * decide (the runner that pings the others is the one that died). Default 15 s.
   */
  readonly shardLockExpiration: Duration.DurationInput
  /** How often the shard assignment is read again. Default 1 s. */
  readonly refreshAssignmentsInterval: Duration.DurationInput
  /** How often a runner reads unprocessed items from the database without being told. Default 2 s. */
  readonly messagePollInterval: Duration.DurationInput
  /** How often a client reads replies from the database (when the runner's socket is not the way back). Default 200 ms. */
  readonly replyPollInterval: Duration.DurationInput
  /** How long a stopping runner lets its items in progress finish before it interrupts them. Default 8 s. */
  readonly drainTimeout: Duration.DurationInput
  /** Shards per group. Default 300 (the library's). */
  readonly shardsPerGroup: number
}

/**
 * The default settings.
 *
 * @since 0.2.0
 */
export const defaults: Settings = {
  healthCheckInterval: Duration.seconds(2),
  // (2 s made a busy machine's runners drop their shards on a slow refresh)
  shardLockRefreshInterval: Duration.seconds(5),
  shardLockExpiration: Duration.seconds(15),
  refreshAssignmentsInterval: Duration.seconds(1),
  messagePollInterval: Duration.seconds(2),
  replyPollInterval: Duration.millis(200),
  drainTimeout: Duration.seconds(8),
  shardsPerGroup: 300
}

/**
 * The `@effect/cluster` configuration for these settings; `address` is where other members
 * reach this runner (`undefined` for a client), `listen` where it binds (default `address`).
 *
 * @since 0.2.0
 */
export const shardingConfig = (
  settings: Partial<Settings>,
  address: RunnerAddress.RunnerAddress | undefined,
  listen?: RunnerAddress.RunnerAddress | undefined
): ShardingConfig.ShardingConfig["Type"] => {
  const s = { ...defaults, ...settings }
  return {
    ...ShardingConfig.defaults,
    runnerAddress: Option.fromNullable(address),
    runnerListenAddress: Option.fromNullable(listen),
    shardsPerGroup: s.shardsPerGroup,
    runnerHealthCheckInterval: s.healthCheckInterval,
    shardLockRefreshInterval: s.shardLockRefreshInterval,
    shardLockExpiration: s.shardLockExpiration,
    refreshAssignmentsInterval: s.refreshAssignmentsInterval,
    entityMessagePollInterval: s.messagePollInterval,
    entityReplyPollInterval: s.replyPollInterval,
    entityTerminationTimeout: s.drainTimeout,
    // an item's payload is checked where it is sent and where it runs; a local round trip
    // through the serializer would only cost
    simulateRemoteSerialization: false
  }
}

/**
 * Parses `host:port` (IPv6 in brackets: `[::1]:34431`).
 *
 * @since 0.2.0
 */
export const parseAddress = (text: string): Option.Option<RunnerAddress.RunnerAddress> => {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim())
  if (match === null) return Option.none()
  const port = Number(match[3])
  const host = match[1] ?? match[2]
  if (host === undefined || port < 1 || port > 65535) return Option.none()
  return Option.some(RunnerAddress.make(host, port))
}

/**
 * A runner's membership: serves entities on a socket at `listen`, known to the others as
 * `address`, with messages, replies, shard locks and membership in PostgreSQL.
 *
 * @since 0.2.0
 */
export const runnerLayer = (options: {
  readonly address: RunnerAddress.RunnerAddress
  readonly listen?: RunnerAddress.RunnerAddress | undefined
  readonly settings?: Partial<Settings> | undefined
}): Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  SocketServer.SocketServerError | SqlError.SqlError,
  SqlClient.SqlClient
> =>
  SocketRunner.layer.pipe(
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
    Layer.provide(
      RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(NodeClusterSocket.layerClientProtocol))
    ),
    Layer.provideMerge(SqlMessageStorage.layer),
    Layer.provide(SqlRunnerStorage.layer),
    Layer.provide(ShardingConfig.layer(shardingConfig(options.settings ?? {}, options.address, options.listen))),
    Layer.provide(RpcSerialization.layerMsgPack)
  )

/**
 * A client-only member: sends messages to entities, serves none, owns no shards.
 *
 * @since 0.2.0
 */
export const clientLayer = (
  settings: Partial<Settings> = {}
): Layer.Layer<Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage, SqlError.SqlError, SqlClient.SqlClient> =>
  SocketRunner.layerClientOnly.pipe(
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    Layer.provideMerge(SqlMessageStorage.layer),
    Layer.provide(SqlRunnerStorage.layer),
    Layer.provide(ShardingConfig.layer(shardingConfig(settings, undefined))),
    Layer.provide(RpcSerialization.layerMsgPack)
  )

/**
 * The database could not be reached within the startup timeout.
 *
 * @since 0.2.0
 */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>("@effect-dspy/cluster/DatabaseUnavailable")(
  "DatabaseUnavailable",
  { url: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `cannot reach the database at ${this.url}: ${this.reason}`
  }
}

/**
 * Options of `databaseLayer`.
 *
 * @since 0.2.0
 */
export interface DatabaseOptions {
  /** A `postgres://` URL. */
  readonly url: Redacted.Redacted | string
  /** How long to keep trying to connect at start (the database may come up later). Default 60 s. */
  readonly startupTimeout?: Duration.DurationInput | undefined
  /** Connections in the pool. Default 10. */
  readonly maxConnections?: number | undefined
  /** Shown in `pg_stat_activity`. Default `effect-dspy`. */
  readonly applicationName?: string | undefined
}

/**
 * The PostgreSQL client, connecting with backoff for up to `startupTimeout`.
 *
 * @since 0.2.0
 */
export const databaseLayer = (
  options: DatabaseOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseUnavailable> => {
  const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
  const shown = Redaction.url(Redacted.value(url))
  const startup = Duration.decode(options.startupTimeout ?? Duration.seconds(60))
  const attempt = PgClient.layer({
    url,
    maxConnections: options.maxConnections ?? 10,
    connectTimeout: Duration.seconds(5),
    applicationName: options.applicationName ?? "effect-dspy"
  }).pipe(
    Layer.tapErrorCause((cause) =>
      Effect.logWarning(`cannot reach the database at ${shown} yet; trying again`, Redaction.text(String(cause)))
    )
  )
  return attempt.pipe(
    Layer.retry(
      Schedule.exponential("250 millis", 2).pipe(
        Schedule.union(Schedule.spaced("5 seconds")),
        Schedule.upTo(startup)
      )
    ),
    Layer.mapError((error: SqlError.SqlError) =>
      new DatabaseUnavailable({ url: shown, reason: Redaction.text(error.cause instanceof Error ? error.cause.message : error.message) })
    )
  )
}
