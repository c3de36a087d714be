/**
 * Test helpers for the HTTP server: fetch as Effects, an SSE parser, and
 * waiting for a counter without timers.
 */
import { Effect } from "effect"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

export const post = (url: string, body: unknown, headers: Record<string, string> = {}): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    return { status: r.status, headers: r.headers, text: await r.text() }
  })

export const get = (url: string): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const r = await fetch(url)
    return { status: r.status, headers: r.headers, text: await r.text() }
  })

export interface SseEvent {
  readonly event: string | undefined
  readonly data: string
}

/** Splits an SSE body into events. */
export const parseSse = (text: string): Array<SseEvent> =>
  text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    let event: string | undefined
    const data: Array<string> = []
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7)
      else if (line.startsWith("data: ")) data.push(line.slice(6))
    }
    return { event, data: data.join("\n") }
  })

/** Yields to the event loop (no timer) until `check` holds; fails after `maxMillis` of wall time as a safety net. */
export const eventually = <A>(effect: Effect.Effect<A>, check: (a: A) => boolean, maxMillis = 10_000): Effect.Effect<A> =>
  Effect.gen(function*() {
    const deadline = Date.now() + maxMillis
    while (true) {
      const a = yield* effect
      if (check(a)) return a
      if (Date.now() > deadline) return yield* Effect.dieMessage(`condition not met: ${JSON.stringify(a)}`)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
  })
