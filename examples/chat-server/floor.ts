/**
 * The bare floor of the load test: the chat server's streaming routes as a bare `node:http`
 * proxy (no Effect, no history, no retries, no spans), so that `load.ts` can measure in the same
 * run what loopback HTTP and JSON cost on this machine per stream and per token (next to the
 * Effect floor, `effectFloor.ts`, and the chat server).
 *
 *   node --import tsx examples/chat-server/floor.ts --upstream http://127.0.0.1:PORT   # a simulator server
 *
 * Each upstream read becomes one downstream write: the events it carries are parsed
 * (`JSON.parse` per event) and re-framed as `event: token` frames. Event streams
 * (`GET …/events`, then `POST …/messages?via=events`) are held as the open response and written
 * to by the turn, as the chat server's are, with the same heartbeat (`: ping` on each idle one
 * every 15 s). A script, not a library.
 */
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import { performance } from "node:perf_hooks"
import * as ServerFigures from "./ServerFigures.js"

const args = process.argv.slice(2)
const upstreamIndex = args.indexOf("--upstream")
const upstream = upstreamIndex === -1 ? undefined : args[upstreamIndex + 1]
if (upstream === undefined) throw new Error("--upstream http://host:port (a simulator server) is required")

const agent = new Http.Agent({ keepAlive: true, maxSockets: Infinity })
const conversations = new Set<string>()
/** Open event streams by conversation, and whether each is answering. */
const eventStreams = new Map<string, { readonly res: Http.ServerResponse; busy: boolean }>()
const figures = ServerFigures.make()
// the chat server's heartbeat: an SSE comment on every idle event stream (its default interval)
const ping = Buffer.from(": ping\n\n")
setInterval(() => {
  for (const events of eventStreams.values()) {
    if (events.busy || events.res.writableNeedDrain) continue
    figures.heartbeat()
    events.res.write(ping)
  }
}, 15_000).unref()

/** One turn written to `res`: a response of its own (`inline`), or an open event stream. */
const turn = (message: string, res: Http.ServerResponse, start: number, inline: boolean, onEnd: () => void) => {
  figures.turnStarted()
  let outcome: "aborted" | "completed" | "failed" = "aborted"
  let reply = ""
  let pending = ""
  let first = true
  const body = JSON.stringify({ model: "sim-1", stream: true, messages: [{ role: "user", content: message }] })
  const up = Http.request(`${upstream}/v1/chat/completions`, {
    method: "POST",
    agent,
    headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
  }, (upRes) => {
    if (inline) res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    upRes.setEncoding("utf8")
    upRes.on("data", (text: string) => {
      const all = pending + text
      let out = ""
      let pos = 0
      for (let nl = all.indexOf("\n\n", pos); nl !== -1; nl = all.indexOf("\n\n", pos)) {
        const data = all.slice(pos + 6, nl)
        pos = nl + 2
        if (data === "[DONE]") continue
        const delta = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content
        if (typeof delta === "string" && delta !== "") {
          reply += delta
          out += `event: token\ndata: ${JSON.stringify({ delta })}\n\n`
        }
      }
      pending = all.slice(pos)
      if (out !== "") {
        if (first) {
          first = false
          figures.firstToken(start)
        }
        res.write(out)
      }
    })
    upRes.on("end", () => {
      outcome = "completed"
      const done = `event: done\ndata: ${JSON.stringify({ reply, usage: {} })}\n\n`
      if (inline) res.end(done)
      else {
        res.write(done)
        finish()
      }
    })
  })
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    figures.turnEnded(outcome)
    res.off("close", finish)
    up.destroy()
    onEnd()
  }
  up.on("error", () => {
    outcome = "failed"
    if (inline) res.destroy()
    else {
      res.write(`event: error\ndata: ${JSON.stringify({ error: "Unavailable", message: "upstream failed", retryable: true })}\n\n`)
      finish()
    }
  })
  res.on("close", finish)
  up.end(body)
}

const server = Http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0 }, (req, res) => {
  const start = performance.now()
  const url = req.url ?? "/"
  let text = ""
  req.setEncoding("utf8")
  req.on("data", (c: string) => (text += c))
  req.on("end", () => {
    if (req.method === "POST" && url === "/api/conversations") {
      const id = randomUUID()
      conversations.add(id)
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id }))
    } else if (req.method === "GET" && url.endsWith("/events")) {
      const id = url.split("/")[3] ?? ""
      if (!conversations.has(id)) return res.writeHead(404).end()
      if (eventStreams.has(id)) return res.writeHead(409).end()
      eventStreams.set(id, { res, busy: false })
      figures.streamOpened()
      res.on("close", () => {
        figures.streamClosed()
        eventStreams.delete(id)
      })
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      res.write("event: open\ndata: {}\n\n")
    } else if (req.method === "POST" && url.includes("/messages")) {
      const message = String((JSON.parse(text) as { message?: unknown }).message)
      if (url.endsWith("?via=events")) {
        const events = eventStreams.get(url.split("/")[3] ?? "")
        if (events === undefined || events.busy) return res.writeHead(409).end()
        events.busy = true
        turn(message, events.res, start, false, () => (events.busy = false))
        res.writeHead(202, { "content-type": "application/json" }).end("{\"accepted\":true}")
      } else turn(message, res, start, true, () => {})
    } else if (url === "/admin/stats") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(figures.stats({ held: conversations.size, expired: 0 })))
    } else if (url === "/admin/stats/reset") {
      figures.reset()
      res.writeHead(204).end()
    } else res.writeHead(404).end()
  })
})
server.listen(0, "127.0.0.1", 8192, () => {
  const address = server.address()
  if (address !== null && typeof address === "object") console.log(`Floor server listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGINT", () => process.exit(0))
