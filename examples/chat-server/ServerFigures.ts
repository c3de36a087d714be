/**
 * The figures a server of the load test serves at `GET /admin/stats` (`Stats`), counted the same
 * way in the chat server (`ChatServer.ts`) and in both floors (the bare `node:http` floor,
 * `floor.ts`, and the Effect floor, `effectFloor.ts`): counters per turn and per event stream,
 * and the process's own figures (`ProcessFigures.ts`), all off the per-token path. Plain Node, so
 * that the floors carry none of the chat server's code.
 */
import type { Stats } from "./ChatServer.js"
import * as ProcessFigures from "./ProcessFigures.js"

/** How a turn ended. */
export type TurnOutcome = "aborted" | "completed" | "failed"

/** What a server counts. */
export interface ServerFigures {
  /** A turn started streaming. */
  readonly turnStarted: () => void
  /** A turn ended so. */
  readonly turnEnded: (outcome: TurnOutcome) => void
  /** An event stream opened, or closed. */
  readonly streamOpened: () => void
  readonly streamClosed: () => void
  /** A heartbeat was written to an idle event stream. */
  readonly heartbeat: () => void
  /** A first token written, for a request read at `start` (`performance.now()`). */
  readonly firstToken: (start: number) => void
  readonly stats: (conversations: { readonly held: number; readonly expired: number }) => Stats
  /** Starts the peaks and the histograms afresh (the load's measured window). */
  readonly reset: () => void
  /** Stops the process's monitors. */
  readonly stop: () => void
}

/** Starts counting. */
export const make = (): ServerFigures => {
  const process = ProcessFigures.start()
  const counts = { active: 0, maxActive: 0, started: 0, completed: 0, failed: 0, aborted: 0, events: 0, maxEvents: 0, heartbeats: 0 }
  return {
    turnStarted: () => {
      counts.started++
      counts.active++
      if (counts.active > counts.maxActive) counts.maxActive = counts.active
    },
    turnEnded: (outcome) => {
      counts.active--
      counts[outcome]++
    },
    streamOpened: () => {
      counts.events++
      if (counts.events > counts.maxEvents) counts.maxEvents = counts.events
    },
    streamClosed: () => {
      counts.events--
    },
    heartbeat: () => {
      counts.heartbeats++
    },
    firstToken: process.firstToken,
    stats: (conversations) => ({
      conversations: conversations.held,
      expiredConversations: conversations.expired,
      openEventStreams: counts.events,
      maxOpenEventStreams: counts.maxEvents,
      heartbeats: counts.heartbeats,
      activeStreams: counts.active,
      maxActiveStreams: counts.maxActive,
      startedStreams: counts.started,
      completedStreams: counts.completed,
      failedStreams: counts.failed,
      abortedStreams: counts.aborted,
      ...process.read()
    }),
    reset: () => {
      process.reset()
      counts.maxActive = counts.active
      counts.maxEvents = counts.events
    },
    stop: process.stop
  }
}
