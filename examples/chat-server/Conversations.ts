/**
 * The chat server's conversations: created per client, looked up by id, and forgotten when idle.
 *
 * - A conversation expires after `idleTimeout` without a request (a turn that is streaming, or
 *   an open event stream, is never idle); a sweep runs a few times per timeout, on Effect's `Clock`.
 * - A conversation holds at most one attached event stream; forgetting the conversation (delete
 *   or expiry) closes it.
 * - Each client (by its address) holds at most `maxPerClient` conversations, and the server at
 *   most `maxTotal`, so that no one client can fill the server's memory.
 */
import type { Conversation } from "@effect-dspy/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** Options of the registry. */
export interface Options {
  /** Forget a conversation after this long without a request. Default 30 minutes. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** Most conversations one client may hold at once. Default 50. */
  readonly maxPerClient?: number | undefined
  /** Most conversations held at once. Default 100,000. */
  readonly maxTotal?: number | undefined
}

interface Entry {
  readonly conversation: Conversation.Conversation
  readonly client: string
  lastActive: number
  /** Closes the attached event stream, if one is open. */
  detach: (() => void) | undefined
}

/** Why a conversation was not created. */
export type Refusal = { readonly _tag: "ServerFull"; readonly max: number } | { readonly _tag: "ClientFull"; readonly max: number }

/** The registry. */
export interface Registry {
  readonly size: () => number
  /** Conversations forgotten for being idle. */
  readonly expired: () => number
  readonly idleTimeoutMillis: number
  readonly add: (
    id: string,
    client: string,
    conversation: Conversation.Conversation
  ) => Effect.Effect<Refusal | undefined>
  /** Whether a new conversation would be refused for this client. */
  readonly refusal: (client: string) => Refusal | undefined
  /** The conversation, marked as active now. */
  readonly get: (id: string) => Effect.Effect<Conversation.Conversation | undefined>
  /** Marks a conversation active now (at the end of a turn). */
  readonly touch: (id: string) => Effect.Effect<void>
  readonly remove: (id: string) => boolean
  /**
   * Attaches an event stream (its `close` ends it); false when the conversation is unknown or
   * has one already. While attached the conversation never expires.
   */
  readonly attach: (id: string, close: () => void) => boolean
  /** Detaches the event stream attached with this `close`. */
  readonly detach: (id: string, close: () => void) => void
}

/** Makes a registry whose idle sweep runs for the scope. */
export const make = (options: Options = {}): Effect.Effect<Registry, never, Scope.Scope> =>
  Effect.gen(function*() {
    const idleMillis = Duration.toMillis(options.idleTimeout ?? Duration.minutes(30))
    const maxPerClient = Math.max(1, options.maxPerClient ?? 50)
    const maxTotal = Math.max(1, options.maxTotal ?? 100_000)
    const entries = new Map<string, Entry>()
    const perClient = new Map<string, number>()
    let expired = 0

    const forget = (id: string, entry: Entry) => {
      entries.delete(id)
      const close = entry.detach
      entry.detach = undefined
      close?.()
      const n = (perClient.get(entry.client) ?? 1) - 1
      if (n <= 0) perClient.delete(entry.client)
      else perClient.set(entry.client, n)
    }

    const refusal = (client: string): Refusal | undefined => {
      if (entries.size >= maxTotal) return { _tag: "ServerFull", max: maxTotal }
      if ((perClient.get(client) ?? 0) >= maxPerClient) return { _tag: "ClientFull", max: maxPerClient }
      return undefined
    }

    // A conversation answering a message is active, however long its turn takes.
    const sweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      for (const [id, entry] of entries) {
        if (now - entry.lastActive < idleMillis) continue
        if (entry.detach !== undefined) {
          entry.lastActive = now
          continue
        }
        if (yield* entry.conversation.busy) {
          entry.lastActive = now
          continue
        }
        forget(id, entry)
        expired++
      }
    })
    if (Number.isFinite(idleMillis)) {
      const every = Math.min(60_000, Math.max(1, Math.floor(idleMillis / 4)))
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(every), sweep)))
    }

    return {
      size: () => entries.size,
      expired: () => expired,
      idleTimeoutMillis: idleMillis,
      refusal,
      add: (id, client, conversation) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const refused = refusal(client)
          if (refused !== undefined) return refused
          entries.set(id, { conversation, client, lastActive: now, detach: undefined })
          perClient.set(client, (perClient.get(client) ?? 0) + 1)
          return undefined
        }),
      get: (id) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const entry = entries.get(id)
          if (entry === undefined) return undefined
          entry.lastActive = now
          return entry.conversation
        }),
      touch: (id) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const entry = entries.get(id)
          if (entry !== undefined) entry.lastActive = now
        }),
      remove: (id) => {
        const entry = entries.get(id)
        if (entry === undefined) return false
        forget(id, entry)
        return true
      },
      attach: (id, close) => {
        const entry = entries.get(id)
        if (entry === undefined || entry.detach !== undefined) return false
        entry.detach = close
        return true
      },
      detach: (id, close) => {
        const entry = entries.get(id)
        if (entry !== undefined && entry.detach === close) entry.detach = undefined
      }
    }
  })
