/**
 * The one entity type of distributed batches and its protocol: `Process` runs one item and
 * answers with the item's outcome as a JSON line.
 *
 * - Persisted: every item is a row in `cluster_messages` until a runner answers it, so a
 *   runner that dies loses nothing: the runner that takes its shards runs the item again.
 * - Keyed: the message's primary key is (batch, generation, item), so sending an item again
 *   (a coordinator re-run) joins the first message instead of making a second one: no item is
 *   called twice because its coordinator restarted.
 * - Uninterruptible from the client: a coordinator that stops does not cancel items already
 *   sent (they finish and are stored; the re-run collects them).
 * - Lanes: an item goes to entity `<batch id>/<lane>`, its lane a hash of its id, so a batch
 *   spreads over every runner's shards, while runners keep a few hundred entities each
 *   rather than one per item.
 *
 * @since 0.2.0
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import * as Schema from "effect/Schema"

/**
 * The entity type name.
 *
 * @since 0.2.0
 */
export const entityType = "effect-dspy/BatchItem"

/**
 * Runs one item; the success is the outcome's JSON line (an `Outcome.Record`). It never fails:
 * every error of the item is a failure outcome.
 *
 * @since 0.2.0
 */
export const Process = Rpc.make("Process", {
  payload: {
    batchId: Schema.String,
    generation: Schema.Number,
    itemId: Schema.String,
    index: Schema.Number,
    line: Schema.NullOr(Schema.Number),
    /** The program key the coordinator runs (a runner serving another one refuses the item). */
    program: Schema.String,
    /** The input, encoded with the program's signature (JSON). */
    input: Schema.Unknown
  },
  success: Schema.String,
  primaryKey: (payload) => `${payload.generation}/${payload.itemId}`
})

/**
 * The entity.
 *
 * @since 0.2.0
 */
export const ItemEntity = Entity.make(entityType, [Process])
  .annotateRpcs(ClusterSchema.Persisted, true)
  .annotateRpcs(ClusterSchema.Uninterruptible, "client")

/**
 * The payload of `Process`.
 *
 * @since 0.2.0
 */
export type Payload = Rpc.Payload<typeof Process>

/**
 * The default number of lanes of a new batch.
 *
 * @since 0.2.0
 */
export const defaultLanes = 1024

/** FNV-1a, 32 bits: a stable hash of an item id (the same in every process and version). */
const fnv1a = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * The entity id of an item of a batch.
 *
 * @since 0.2.0
 */
export const entityId = (batchId: string, itemId: string, lanes: number): string =>
  `${batchId}/${fnv1a(itemId) % Math.max(1, lanes)}`

/**
 * The key under which runners and coordinators name a program: a built-in's name, or a module
 * file's name without its folder (the same file may live in different folders on different
 * machines).
 *
 * @since 0.2.0
 */
export const programKey = (spec: string): string => {
  const parts = spec.split(/[/\\]/)
  return parts[parts.length - 1] ?? spec
}

/**
 * Batch ids: letters, digits, `.`, `_`, `-`, at most 100 (they are part of entity ids and
 * cleanup patterns).
 *
 * @since 0.2.0
 */
export const BatchId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, {
    message: () => "a batch id is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
  })
)
