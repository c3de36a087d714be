/**
 * What a server of the load test measures about its own process, the same way in the chat server
 * (`ChatServer.ts`) and in both floors (through `ServerFigures.ts`): memory (sampled every 250 ms for its
 * peaks), CPU time, event-loop delay, and the time from reading a request to writing its first
 * token. Plain Node (`perf_hooks`), so that the floors carry none of the chat server's code.
 */
import { createHistogram, monitorEventLoopDelay, performance } from "node:perf_hooks"

/** The process's part of `GET /admin/stats` (durations in milliseconds). */
export interface ProcessStats {
  readonly rssBytes: number
  readonly maxRssBytes: number
  /** V8 heap in use now. */
  readonly heapUsedBytes: number
  /** Largest V8 heap in use and largest memory outside it (buffers), sampled every 250 ms. */
  readonly maxHeapUsedBytes: number
  readonly maxExternalBytes: number
  /** CPU time used by the process since it started (user + system). */
  readonly cpuMillis: number
  /** From the request to its first token written, as seen by the server. */
  readonly firstTokenMillis: { readonly p50: number; readonly p99: number; readonly max: number; readonly count: number }
  readonly eventLoopDelayMillis: { readonly p50: number; readonly p99: number; readonly max: number }
}

/** A running measurement of this process. */
export interface ProcessFigures {
  /** A first token written, for a request read at `start` (`performance.now()`). */
  readonly firstToken: (start: number) => void
  readonly read: () => ProcessStats
  /** Starts the peaks, the first-token histogram and the event-loop delay afresh. */
  readonly reset: () => void
  /** Stops the event-loop monitor and the memory sampler. */
  readonly stop: () => void
}

const percentiles = (h: { percentile(p: number): number; max: number; count: number }, scale: number) => ({
  p50: h.count === 0 ? 0 : h.percentile(50) / scale,
  p99: h.count === 0 ? 0 : h.percentile(99) / scale,
  max: h.count === 0 ? 0 : h.max / scale
})

/** Starts measuring (the sampler's timer is unref'd: it never keeps the process alive). */
export const start = (): ProcessFigures => {
  const firstToken = createHistogram()
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const memory = { maxHeapUsed: 0, maxExternal: 0 }
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    if (m.heapUsed > memory.maxHeapUsed) memory.maxHeapUsed = m.heapUsed
    if (m.external > memory.maxExternal) memory.maxExternal = m.external
  }, 250).unref()
  return {
    firstToken: (start) => firstToken.record(Math.max(1, Math.round((performance.now() - start) * 1000))),
    read: () => {
      const usage = process.resourceUsage()
      return {
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
      memory.maxHeapUsed = 0
      memory.maxExternal = 0
    },
    stop: () => {
      loop.disable()
      clearInterval(sampler)
    }
  }
}
