/**
 * The floor of the batch benchmarks, in plain Node (no Effect, no library code: a floor must not
 * contain what it is the floor of): a bare `node:http` server answering chat completions, and a
 * bare `node:http` keep-alive client running calls at a fixed concurrency.
 *
 * The server answers each request a latency after it arrived: the `latency=N` (ms) written in
 * the request's text if there is one, else its default. It runs in a child process (this file,
 * run again with `--child PORT MODE LATENCY`), as a model server would, in one of two modes:
 *
 * - `timer`: a plain `setTimeout` for the rest of the latency. Node fires timers from the event
 *   loop's cached millisecond time, so it answers up to ~1.5 ms early (0.3-0.5 ms on average);
 * - `on-time`: never before the latency has passed: a timer until 2 ms before, then a check of
 *   the clock once per event-loop turn until the instant. The benchmarks compare against this one.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import { fileURLToPath } from "node:url"

/** How the bare server times its answers. */
export type Mode = "timer" | "on-time"

const content = "[[ ## answer ## ]]\nFour.\n\n[[ ## completed ## ]]"
const replyBody = JSON.stringify({
  id: "chatcmpl-floor",
  object: "chat.completion",
  created: 1,
  model: "sim-1",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 }
})

const latencyIn = /latency=(\d+)/

/**
 * One request as the server saw it: its connection (the client's port), when it arrived and when
 * it was answered, in ms on the wall clock with sub-ms precision (`performance.timeOrigin +
 * performance.now()`, comparable across processes on one machine).
 */
export interface Seen {
  readonly connection: number
  readonly arrived: number
  readonly answered: number
}

const wallNow = () => performance.timeOrigin + performance.now()

/** The server (in the child process). */
const serve = (port: number, mode: Mode, defaultLatency: number) => {
  // what was served since the last `GET /timeline` (which answers with it and starts afresh)
  let seen: Array<Seen> = []
  const server = http.createServer((req, res) => {
    const arrived = process.hrtime.bigint()
    const arrivedWall = wallNow()
    if (req.url === "/timeline") {
      req.resume()
      const body = JSON.stringify(seen)
      seen = []
      return void res.end(body)
    }
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => (body += chunk))
    req.on("end", () => {
      const latency = Number(latencyIn.exec(body)?.[1] ?? defaultLatency)
      const answer = () => {
        seen.push({ connection: req.socket.remotePort ?? 0, arrived: arrivedWall, answered: wallNow() })
        res.writeHead(200, { "content-type": "application/json" })
        res.end(replyBody)
      }
      const rest = latency - Number(process.hrtime.bigint() - arrived) / 1e6
      if (mode === "timer") return void setTimeout(answer, rest)
      const at = arrived + BigInt(Math.round(latency * 1e6))
      const check = (): void => void (process.hrtime.bigint() >= at ? answer() : setImmediate(check))
      setTimeout(check, Math.max(0, rest - 2))
    })
  })
  server.keepAliveTimeout = 60000
  server.listen(port, "127.0.0.1", () => {
    const address = server.address()
    console.log(`http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : port}`)
  })
}

const thisFile = fileURLToPath(import.meta.url)

// The servers are children: they go when the benchmark does, however it ends.
const children: Array<ReturnType<typeof spawn>> = []
let hooked = false
const hookExit = () => {
  if (hooked) return
  hooked = true
  process.on("exit", () => {
    for (const child of children) child.kill()
  })
  process.on("SIGINT", () => process.exit(130))
  process.on("SIGTERM", () => process.exit(143))
}

/** Starts a bare server in a child process; resolves with its base URL. */
export const startServer = (mode: Mode, defaultLatency: number, port = 0) =>
  new Promise<{ readonly base: string; readonly stop: () => void }>((resolve, reject) => {
    hookExit()
    // the same loader flags as this process (tsx)
    const child = spawn(process.execPath, [...process.execArgv, thisFile, "--child", String(port), mode, String(defaultLatency)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    children.push(child)
    child.on("exit", (code) => reject(new Error(`the bare server exited (${code})`)))
    child.stdout.setEncoding("utf8").once("data", (line: string) => resolve({ base: line.trim(), stop: () => child.kill() }))
  })

/** The floor's chat-completion request body for a question (the Effect floor sends the same). */
export const requestBody = (question: string) =>
  JSON.stringify({
    model: "sim-1",
    messages: [{ role: "system", content: "Answer the question." }, { role: "user", content: question }]
  })

/** One chat completion; only a whole, parsed 200 counts as done. */
const call = (url: URL, agent: http.Agent, question: string) =>
  new Promise<void>((resolve, reject) => {
    const request = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("end", () => {
        if (response.statusCode !== 200) return reject(new Error(`${url.origin} answered ${response.statusCode}: ${text}`))
        try {
          JSON.parse(text)
          resolve()
        } catch (cause) {
          reject(cause)
        }
      })
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(requestBody(question))
  })

/** A bare keep-alive client for a base URL. */
export const client = (base: string, concurrency: number) => {
  const url = new URL("/v1/chat/completions", base)
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  return {
    /** Runs the questions in order at `concurrency`; the wall time in ms. */
    run: async (questions: ReadonlyArray<string>): Promise<number> => {
      let next = 0
      const start = performance.now()
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < questions.length) await call(url, agent, questions[next++]!)
      }))
      return performance.now() - start
    },
    close: () => agent.destroy()
  }
}

/** What the server saw since the last call (and forgets it). */
export const timeline = async (base: string): Promise<ReadonlyArray<Seen>> => {
  const response = await fetch(new URL("/timeline", base))
  return (await response.json()) as ReadonlyArray<Seen>
}

/**
 * Where a run's time over the ideal went, from the server's side (the same measure for every
 * client). With `concurrency` slots, the i-th answer (in time order) frees a slot, and the
 * (i + concurrency)-th request to arrive is that slot's next one, whichever connection it uses:
 *
 * - `turnaroundMillis`: from the i-th answer to the (i + concurrency)-th arrival (the client
 *   reading the reply, its work on it and on others, writing the next request), mean and p90;
 * - `roundSpreadMillis`: each run of `concurrency` consecutive answers (a round), from first to
 *   last, mean over the rounds: near 0 when a round's replies come in one bunch (every slot then
 *   waits for the whole bunch's work, and the next round is a bunch again), about the client's
 *   work per reply times the slots when they are staggered (each slot waits for its own);
 * - `connections`: how many connections the client used.
 */
export const critical = (seen: ReadonlyArray<Seen>, concurrency: number) => {
  const arrivals = seen.map((s) => s.arrived).sort((a, b) => a - b)
  const answers = seen.map((s) => s.answered).sort((a, b) => a - b)
  const turnarounds: Array<number> = []
  for (let i = 0; i + concurrency < arrivals.length; i++) turnarounds.push(arrivals[i + concurrency]! - answers[i]!)
  const spreads: Array<number> = []
  for (let k = 0; k + concurrency <= answers.length; k += concurrency) spreads.push(answers[k + concurrency - 1]! - answers[k]!)
  const sorted = [...turnarounds].sort((a, b) => a - b)
  const mean = (xs: ReadonlyArray<number>) => xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length
  return {
    connections: new Set(seen.map((s) => s.connection)).size,
    turnaroundMillis: { mean: mean(turnarounds), p90: sorted[Math.floor(sorted.length * 0.9)] ?? NaN },
    roundSpreadMillis: mean(spreads)
  }
}

/**
 * Rounds `from` to `to` of a run as the server saw them, one line each: when each of the round's
 * `concurrency` answers went out, and when the request each one freed a slot for arrived, in ms
 * from the round's first answer (a bunch: answers within a fraction of a ms and the next
 * requests all after the whole bunch's work; staggered: both spread out).
 */
export const rounds = (seen: ReadonlyArray<Seen>, concurrency: number, from: number, to: number): ReadonlyArray<string> => {
  const arrivals = seen.map((s) => s.arrived).sort((a, b) => a - b)
  const answers = seen.map((s) => s.answered).sort((a, b) => a - b)
  const lines: Array<string> = []
  for (let k = from; k <= to && (k + 1) * concurrency <= answers.length; k++) {
    const t0 = answers[k * concurrency]!
    const at = (xs: ReadonlyArray<number>) =>
      xs.slice(k * concurrency, (k + 1) * concurrency).map((x) => (x - t0).toFixed(1)).join(" ")
    lines.push(`round ${k + 1}: answers at +[${at(answers)}] ms, next requests at +[${at(arrivals.slice(concurrency))}] ms`)
  }
  return lines
}

/** The shortest wall time of running these latencies in order with `concurrency` slots. */
export const idealMillis = (latencies: ReadonlyArray<number>, concurrency: number): number => {
  // each item starts on the slot that frees first, as a runner with no overhead would
  const slots = Array.from({ length: concurrency }, () => 0)
  for (const latency of latencies) {
    let first = 0
    for (let i = 1; i < slots.length; i++) if (slots[i]! < slots[first]!) first = i
    slots[first]! += latency
  }
  return Math.max(...slots)
}

const childArg = process.argv.indexOf("--child")
if (childArg !== -1) {
  serve(Number(process.argv[childArg + 1]), process.argv[childArg + 2] === "on-time" ? "on-time" : "timer", Number(process.argv[childArg + 3]))
}
