/**
 * The figures a floor server of the load test serves at `GET /admin/stats` (the chat server's
 * `Stats`), kept in plain Node: the bare `node:http` floor (`floor.ts`) and the Effect floor
 * (`effectFloor.ts`) count the same things the same way, off their per-token path (a histogram
 * record per turn, counters per turn and per stream).
 */
import { createHistogram, monitorEventLoopDelay, performance } from "node:perf_hooks"
import type { Stats } from "./ChatServer.js"

/** What a floor server counts. */
export interface FloorStats {
  readonly counts: {
    active: number
    maxActive: number
    started: number
    completed: number
    failed: number
    aborted: number
    /** Open event streams now and at most. */
    events: number
    maxEvents: number
    heartbeats: number
  }
  /** A turn started. */
  readonly turnStarted: () => void
  /** A turn ended so. */
  readonly turnEnded: (outcome: "aborted" | "completed" | "failed") => void
  /** An event stream opened. */
  readonly streamOpened: () => void
  /** Its first token written, for a request read at `start` (`performance.now()`). */
  readonly firstToken: (start: number) => void
  readonly stats: (conversations: number) => Stats
  readonly reset: () => void
}

const percentiles = (h: { percentile(p: number): number; max: number; count: number }, scale: number) => ({
  p50: h.count === 0 ? 0 : h.percentile(50) / scale,
  p99: h.count === 0 ? 0 : h.percentile(99) / scale,
  max: h.count === 0 ? 0 : h.max / scale
})

/** Starts counting (an event-loop monitor and a memory sample every 250 ms, both unref'd). */
export const make = (): FloorStats => {
  const firstToken = createHistogram()
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const memory = { maxHeapUsed: 0, maxExternal: 0 }
  setInterval(() => {
    const m = process.memoryUsage()
    memory.maxHeapUsed = Math.max(memory.maxHeapUsed, m.heapUsed)
    memory.maxExternal = Math.max(memory.maxExternal, m.external)
  }, 250).unref()
  const counts = { active: 0, maxActive: 0, started: 0, completed: 0, failed: 0, aborted: 0, events: 0, maxEvents: 0, heartbeats: 0 }
  return {
    counts,
    turnStarted: () => {
      counts.started++
      counts.active++
      counts.maxActive = Math.max(counts.maxActive, counts.active)
    },
    turnEnded: (outcome) => {
      counts.active--
      counts[outcome]++
    },
    streamOpened: () => {
      counts.events++
      counts.maxEvents = Math.max(counts.maxEvents, counts.events)
    },
    firstToken: (start) => firstToken.record(Math.max(1, Math.round((performance.now() - start) * 1000))),
    stats: (conversations) => {
      const usage = process.resourceUsage()
      return {
        conversations,
        openEventStreams: counts.events,
        maxOpenEventStreams: counts.maxEvents,
        heartbeats: counts.heartbeats,
        expiredConversations: 0,
        activeStreams: counts.active,
        maxActiveStreams: counts.maxActive,
        startedStreams: counts.started,
        completedStreams: counts.completed,
        failedStreams: counts.failed,
        abortedStreams: counts.aborted,
        rssBytes: process.memoryUsage.rss(),
        heapUsedBytes: process.memoryUsage().heapUsed,
        maxRssBytes: usage.maxRSS * 1024,
        maxHeapUsedBytes: memory.maxHeapUsed,
        maxExternalBytes: memory.maxExternal,
        cpuMillis: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        firstTokenMillis: { ...percentiles(firstToken, 1000), count: firstToken.count },
        eventLoopDelayMillis: percentiles({ percentile: (p) => loop.percentile(p), max: loop.max, count: 1 }, 1e6)
      }
    },
    reset: () => {
      firstToken.reset()
      loop.reset()
      counts.maxActive = counts.active
      counts.maxEvents = counts.events
      memory.maxHeapUsed = 0
      memory.maxExternal = 0
    }
  }
}
