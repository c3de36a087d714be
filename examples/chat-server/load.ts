/**
 * Load test of the chat server: conversations that keep their event streams open, a few of them
 * streaming at any moment, and the same load in the same run on two floors: the same routes
 * built only from Effect's building blocks (`effectFloor.ts`: `@effect/platform` HttpServer and
 * HttpClient, `@effect/experimental` Sse, `Stream`; no effect-dspy code) and a bare `node:http`
 * proxy (`floor.ts`: no Effect). The figures decompose: bare floor -> Effect floor -> ours.
 *
 *   pnpm exec tsx examples/chat-server/load.ts [--conversations 10000] [--streaming 400]
 *     [--words 100] [--tps 50] [--ttft 200] [--seconds 60] [--warmup-seconds 10]
 *     [--servers ours,effect,floor] [--no-floor] [--server-heap-mib 768] [--lm-timeout 60]
 *     [--max-pending 1000] [--profile DIR]
 *
 * Three kinds of process: this one (the load generator), the simulator server (`simulator.ts`:
 * every answer `--words` tokens at `--tps` tokens per second after `--ttft` ms) and the server
 * under test (`--servers`, by default all three one after the other: `main.ts` (ours),
 * `effectFloor.ts` (effect), `floor.ts` (floor); `--no-floor` is `--servers ours`), each its own
 * child, so that the server's memory and CPU are its own. For each server:
 *
 * 1. warm up with a few turns, then read its RSS;
 * 2. create `--conversations` conversations and open every one's event stream
 *    (`GET …/events`, at most `--max-pending` awaiting their headers), and read its RSS again:
 *    the difference over the conversations is the memory of an idle open conversation;
 * 3. keep `--streaming` turns going at once (`POST …/messages?via=events`, the next conversation
 *    in turn when one is answered; the others idle, connection open): `--warmup-seconds`, then a
 *    window of `--seconds` in which it measures the server's CPU per streamed token, its time
 *    to first token (added to the simulator's `--ttft`), and the open event streams (which must
 *    stay at `--conversations`).
 *
 * Each open stream is a socket on both sides: the script raises its own and its children's
 * open-files limit (`ulimit -n`) to what it needs when the hard limit allows, and otherwise says
 * what to run. A script, not a test: it prints figures and asserts nothing.
 */
import { spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import type { Stats } from "./ChatServer.js"

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  const value = i === -1 ? undefined : Number(args[i + 1])
  return value === undefined || !Number.isFinite(value) ? fallback : value
}

const conversations = option("conversations", 10_000)
const streaming = Math.min(conversations, option("streaming", 400))
const words = option("words", 100)
const tps = option("tps", 50)
const ttft = option("ttft", 200)
const seconds = option("seconds", 60)
const warmupSeconds = option("warmup-seconds", 10)
const lmTimeout = option("lm-timeout", 60)
const maxPending = option("max-pending", 1000)
const serverHeapMib = option("server-heap-mib", 768)
type ServerKind = "ours" | "effect" | "floor"
const serverKinds: ReadonlyArray<ServerKind> = ["ours", "effect", "floor"]
const serversIndex = args.indexOf("--servers")
/** The servers to load, in this order. */
const servers: ReadonlyArray<ServerKind> = args.includes("--no-floor")
  ? ["ours"]
  : serversIndex === -1
  ? serverKinds
  : serverKinds.filter((kind) => (args[serversIndex + 1] ?? "").split(",").includes(kind))
if (servers.length === 0) throw new Error(`--servers: a comma-separated list of ${serverKinds.join(", ")}`)
const profileIndex = args.indexOf("--profile")
/** A directory for a CPU profile of the chat server (`node --cpu-prof`), if asked. */
const profileDir = profileIndex === -1 ? undefined : args[profileIndex + 1]

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")

// --- open files ---------------------------------------------------------------------------

/** Sockets per process: every conversation's stream, the turns' requests, and some to spare. */
const filesNeeded = conversations + 2 * streaming + 1024

const shellLimit = (flag: "-Sn" | "-Hn"): number => {
  const out = spawnSync("sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).stdout.trim()
  return out === "unlimited" ? Infinity : Number(out)
}

/** Re-runs this script under a raised soft limit when it is too low and the hard limit allows. */
const ensureOpenFiles = (): "ok" | "re-ran" => {
  const soft = shellLimit("-Sn")
  if (soft >= filesNeeded) return "ok"
  const hard = shellLimit("-Hn")
  if (hard < filesNeeded || process.env["CHAT_LOAD_RAISED"] === "1") {
    console.error(
      `load: ${conversations} conversations need about ${filesNeeded} open files per process; the limit is ${soft} ` +
        `(hard ${hard}). Run as root: ulimit -Hn ${filesNeeded} && ulimit -n ${filesNeeded}, then this script again, ` +
        `or use --conversations ${Math.max(1, Math.floor(hard - 2 * streaming - 1024))}.`
    )
    process.exit(2)
  }
  const quoted = [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
  const child = spawn("sh", ["-c", `ulimit -n ${filesNeeded} && exec ${quoted}`], {
    stdio: "inherit",
    env: { ...process.env, CHAT_LOAD_RAISED: "1" }
  })
  child.on("exit", (code) => process.exit(code ?? 1))
  return "re-ran"
}

// --- child processes ----------------------------------------------------------------------

interface Child {
  readonly url: string
  readonly pid: number | undefined
  readonly stop: () => Promise<void>
}

/** User + system CPU of a process from /proc/<pid>/stat (clock ticks of 10 ms; Linux only). */
const procCpuMillis = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** Runs `node [nodeArgs] --import tsx script` (inheriting the raised open-files limit) and resolves with its URL. */
const spawnServer = (
  script: string,
  scriptArgs: ReadonlyArray<string>,
  env: Record<string, string>,
  nodeArgs: ReadonlyArray<string> = []
): Promise<Child> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(here, script), ...scriptArgs], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match !== null) {
        out = ""
        child.removeAllListeners("exit")
        let stopping = false
        // a server that dies under load ends the run (its turns would wait forever)
        child.once("exit", (code, signal) => {
          if (stopping) return
          console.error(`${script} exited during the load (code ${code}, signal ${signal})`)
          process.exit(1)
        })
        resolve({
          url: match[1]!,
          pid: child.pid,
          stop: () =>
            new Promise<void>((done) => {
              stopping = true
              if (child.exitCode !== null) return done()
              child.once("exit", () => done())
              child.kill("SIGINT")
            })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`${script} exited early (code ${code})`)))
  })

// --- HTTP ---------------------------------------------------------------------------------

const agent = new Http.Agent({ keepAlive: true, maxSockets: Math.max(64, streaming) })
const streamAgent = new Http.Agent({ keepAlive: false, maxSockets: Infinity })

/**
 * One request over the keep-alive agent. A reused socket that the server closed as idle just as
 * it was taken fails with ECONNRESET before the server read anything: that request is sent
 * again once (Node's documented pattern, `request.reusedSocket`).
 */
const request = (url: string, method: string, body?: string, retried = false): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const req = Http.request(url, {
      method,
      agent,
      headers: body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
      res.on("error", reject)
    })
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (!retried && req.reusedSocket && error.code === "ECONNRESET") {
        request(url, method, body, true).then(resolve, reject)
      } else reject(error)
    })
    req.end(body)
  })

const statsOf = async (url: string): Promise<Stats> => JSON.parse((await request(`${url}/admin/stats`, "GET")).text) as Stats

const TOKEN = "event: token"
const DONE = "event: done"
const ERROR = "event: error"

const countOf = (text: string, needle: string): number => {
  let n = 0
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++
  return n
}

/** A turn as the load generator sees it. */
interface TurnResult {
  readonly ok: boolean
  readonly tokens: number
  /** From sending the message to its first token event (-1: none). */
  readonly firstTokenMillis: number
  /** Why it failed: the error event's kind, the refusal's status, or a closed stream. */
  readonly error?: string | undefined
}

/** Tokens received on every stream since the start (read at the window's edges). */
const received = { tokens: 0 }

/**
 * A conversation's open event stream: counts token events, and ends the turn under way at its
 * `done` or `error` event. Markers split across reads are found through a short tail.
 */
class EventStream {
  private tail = ""
  private turn: { start: number; first: number; tokens: number; resolve: (r: TurnResult) => void } | undefined
  closed = false
  readonly request: Http.ClientRequest

  /** A turn is under way. */
  get busy(): boolean {
    return this.turn !== undefined
  }

  constructor(url: string, onOpen: (ok: boolean) => void) {
    this.request = Http.request(url, { agent: streamAgent })
    let opened = false
    const open = (ok: boolean) => {
      if (opened) return
      opened = true
      onOpen(ok)
    }
    this.request.on("response", (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        return open(false)
      }
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        open(true)
        this.read(chunk)
      })
      res.on("close", () => this.close())
      res.on("error", () => {})
    })
    this.request.on("error", () => {
      open(false)
      this.close()
    })
    this.request.end()
  }

  private read(chunk: string) {
    const text = this.tail + chunk
    this.tail = text.slice(-(ERROR.length - 1))
    const turn = this.turn
    if (turn === undefined) return
    const n = countOf(text, TOKEN)
    if (n > 0) {
      if (turn.first < 0) turn.first = performance.now() - turn.start
      turn.tokens += n
      received.tokens += n
    }
    const done = text.includes(DONE)
    const error = done ? -1 : text.indexOf(ERROR)
    if (done || error !== -1) {
      this.turn = undefined
      this.tail = ""
      const kind = error === -1 ? undefined : /"error":"(\w+)"/.exec(text.slice(error))?.[1] ?? "error event"
      turn.resolve({ ok: done, tokens: turn.tokens, firstTokenMillis: turn.first, error: kind })
    }
  }

  private close() {
    this.closed = true
    const turn = this.turn
    this.turn = undefined
    turn?.resolve({ ok: false, tokens: turn.tokens, firstTokenMillis: turn.first, error: "stream closed" })
  }

  /** Ends the turn under way as refused (the stream stays open). */
  private refused(why: string) {
    const turn = this.turn
    this.turn = undefined
    turn?.resolve({ ok: false, tokens: 0, firstTokenMillis: -1, error: why })
  }

  /** Asks a message over the stream; resolves when its turn ends. */
  ask(url: string, message: string): Promise<TurnResult> {
    if (this.closed) return Promise.resolve({ ok: false, tokens: 0, firstTokenMillis: -1, error: "stream closed" })
    return new Promise((resolve) => {
      this.turn = { start: performance.now(), first: -1, tokens: 0, resolve }
      request(`${url}?via=events`, "POST", JSON.stringify({ message })).then(
        (r) => {
          if (r.status !== 202) this.refused(`POST ${r.status} ${r.text.slice(0, 80)}`)
        },
        (e: Error) => this.refused(`POST ${e.message}`)
      )
    })
  }
}

/** At most `n` holders at once. */
const gate = (n: number) => {
  let free = n
  const waiting: Array<() => void> = []
  return {
    take: (): Promise<void> => {
      if (free > 0) {
        free--
        return Promise.resolve()
      }
      return new Promise((resolve) => waiting.push(resolve))
    },
    release: () => {
      const next = waiting.shift()
      if (next !== undefined) next()
      else free++
    }
  }
}

const pool = async <A>(n: number, concurrency: number, task: (i: number) => Promise<A>): Promise<Array<A>> => {
  const out = new Array<A>(n)
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      out[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker))
  return out
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
const ms = (x: number) => `${x.toFixed(1)} ms`
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

// --- one server under load ----------------------------------------------------------------

interface Figures {
  readonly name: string
  readonly openStreams: { readonly reached: number; readonly minInWindow: number; readonly maxInWindow: number }
  readonly rssBaseBytes: number
  readonly rssOpenBytes: number
  readonly heapOpenBytes: number
  readonly rssEndBytes: number
  readonly maxRssBytes: number
  readonly turns: number
  readonly failedTurns: number
  readonly errors: ReadonlyMap<string, number>
  readonly tokens: number
  readonly cpuMillis: number
  readonly serverTtft: Stats["firstTokenMillis"]
  readonly clientTtftP50: number
  readonly clientTtftP99: number
  readonly loopDelayP99: number
}

const runLoad = async (name: string, url: string, pid: number | undefined): Promise<Figures> => {
  console.log(`\n${name}: ${url}`)
  // warm-up: JIT, lazily loaded modules, upstream connections
  await pool(Math.min(50, streaming), 50, async (i) => {
    const id = (JSON.parse((await request(`${url}/api/conversations`, "POST")).text) as { id: string }).id
    await request(`${url}/api/conversations/${id}/messages`, "POST", JSON.stringify({ message: `warm-up ${i}` }))
  })
  const base = await statsOf(url)

  const createStart = performance.now()
  const ids = await pool(conversations, 256, async () => {
    const r = await request(`${url}/api/conversations`, "POST")
    if (r.status !== 201) throw new Error(`create: HTTP ${r.status} ${r.text}`)
    return (JSON.parse(r.text) as { id: string }).id
  })
  const pending = gate(maxPending)
  const streams = await Promise.all(ids.map(async (id) => {
    await pending.take()
    return new Promise<EventStream>((resolve) => {
      const stream: EventStream = new EventStream(`${url}/api/conversations/${id}/events`, (ok) => {
        pending.release()
        if (!ok) stream.closed = true
        resolve(stream)
      })
    })
  }))
  const refused = streams.filter((s) => s.closed).length
  await sleep(1000) // let the server settle (and collect) before reading its memory
  const open = await statsOf(url)
  console.log(
    `  ${conversations} conversations created and their event streams opened in ${ms(performance.now() - createStart)}` +
      (refused > 0 ? ` (${refused} refused)` : "") + `; the server counts ${open.openEventStreams} open`
  )

  // the turns: `streaming` at once, each the next conversation's in turn
  let next = 0
  let measuring = false
  let stopping = false
  const window = { turns: 0, failed: 0, firsts: [] as Array<number>, errors: new Map<string, number>() }
  const worker = async () => {
    while (!stopping) {
      const i = next++ % conversations
      const stream = streams[i]!
      if (stream.closed || stream.busy) continue
      const result = await stream.ask(`${url}/api/conversations/${ids[i]}/messages`, `Question ${next}: how do fibers hold streams?`)
      if (!measuring) continue
      window.turns++
      if (!result.ok) {
        window.failed++
        const why = result.error ?? "?"
        window.errors.set(why, (window.errors.get(why) ?? 0) + 1)
      }
      else if (result.firstTokenMillis >= 0) window.firsts.push(result.firstTokenMillis)
    }
  }
  const workers = Array.from({ length: streaming }, worker)
  await sleep(warmupSeconds * 1000)
  await request(`${url}/admin/stats/reset`, "POST")
  const before = await statsOf(url)
  const cpuBefore = procCpuMillis(pid) ?? before.cpuMillis
  const tokensBefore = received.tokens
  measuring = true
  let minOpen = Infinity
  let maxOpen = 0
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    await sleep(Math.min(1000, Math.max(0, end - performance.now())))
    const s = await statsOf(url)
    minOpen = Math.min(minOpen, s.openEventStreams)
    maxOpen = Math.max(maxOpen, s.openEventStreams)
  }
  measuring = false
  const after = await statsOf(url)
  const cpuAfter = procCpuMillis(pid) ?? after.cpuMillis
  const tokens = received.tokens - tokensBefore
  stopping = true
  await Promise.all(workers)
  streams.forEach((s) => s.request.destroy())
  window.firsts.sort((a, b) => a - b)
  return {
    name,
    openStreams: { reached: open.openEventStreams, minInWindow: minOpen, maxInWindow: maxOpen },
    rssBaseBytes: base.rssBytes,
    rssOpenBytes: open.rssBytes,
    heapOpenBytes: open.heapUsedBytes,
    rssEndBytes: after.rssBytes,
    maxRssBytes: after.maxRssBytes,
    turns: window.turns,
    failedTurns: window.failed,
    errors: window.errors,
    tokens,
    cpuMillis: cpuAfter - cpuBefore,
    serverTtft: after.firstTokenMillis,
    clientTtftP50: percentile(window.firsts, 50),
    clientTtftP99: percentile(window.firsts, 99),
    loopDelayP99: after.eventLoopDelayMillis.p99
  }
}

const report = (f: Figures) => {
  const perToken = (f.cpuMillis * 1000) / Math.max(1, f.tokens)
  console.log(`  open event streams:   reached ${f.openStreams.reached}; during the window ${f.openStreams.minInWindow}..${f.openStreams.maxInWindow}`)
  console.log(
    `  server RSS:           ${mib(f.rssOpenBytes)} with the conversations open (${mib(f.rssBaseBytes)} before), ${mib(f.rssEndBytes)} at the end, ${mib(f.maxRssBytes)} peak`
  )
  console.log(
    `  idle conversation:    ${kib((f.rssOpenBytes - f.rssBaseBytes) / conversations)} of RSS each (heap now ${mib(f.heapOpenBytes)})`
  )
  console.log(
    `  turns in ${seconds} s:       ${f.turns} (${f.failedTurns} failed), ${f.tokens} tokens (${(f.tokens / seconds).toFixed(0)} tokens/s)`
  )
  for (const [why, n] of f.errors) console.log(`    failed x${n}: ${why}`)
  console.log(`  server CPU:           ${ms(f.cpuMillis)} in the window, ${perToken.toFixed(1)} µs per token`)
  console.log(
    `  TTFT added, server:   p50 ${ms(f.serverTtft.p50 - ttft)}, p99 ${ms(f.serverTtft.p99 - ttft)}, max ${ms(f.serverTtft.max - ttft)} (request read to first token written, minus the simulator's ${ttft} ms)`
  )
  console.log(`  TTFT added, client:   p50 ${ms(f.clientTtftP50 - ttft)}, p99 ${ms(f.clientTtftP99 - ttft)}`)
  console.log(`  server event loop:    delay p99 ${ms(f.loopDelayP99)}`)
  return perToken
}

/** The three servers side by side, and the ratios that decompose ours: bare floor -> Effect floor -> ours. */
const summary = (results: ReadonlyMap<ServerKind, Figures>, perToken: ReadonlyMap<ServerKind, number>) => {
  const kinds = serverKinds.filter((kind) => results.has(kind))
  const cell = (text: string) => text.padStart(14)
  const row = (label: string, value: (f: Figures, kind: ServerKind) => string) =>
    console.log(`  ${label.padEnd(34)}${kinds.map((kind) => cell(value(results.get(kind)!, kind))).join("")}`)
  console.log("\nsummary (the same run)")
  row("", (_, kind) => kind)
  row("server CPU per token (µs)", (_, kind) => perToken.get(kind)!.toFixed(1))
  row("tokens delivered per s", (f) => (f.tokens / seconds).toFixed(0))
  row("TTFT added p99, server (ms)", (f) => (f.serverTtft.p99 - ttft).toFixed(1))
  row("TTFT added p99, client (ms)", (f) => (f.clientTtftP99 - ttft).toFixed(1))
  row("RSS, conversations open (MiB)", (f) => (f.rssOpenBytes / 1024 / 1024).toFixed(0))
  row("per idle conversation (KiB)", (f) => ((f.rssOpenBytes - f.rssBaseBytes) / conversations / 1024).toFixed(1))
  row("failed turns", (f) => String(f.failedTurns))
  const ratio = (a: ServerKind, b: ServerKind, what: string) => {
    const x = perToken.get(a)
    const y = perToken.get(b)
    if (x !== undefined && y !== undefined) console.log(`  CPU per token, ${what}: ${(x / y).toFixed(2)}x`)
  }
  ratio("effect", "floor", "Effect floor / bare floor (the building blocks' share)")
  ratio("ours", "effect", "ours / Effect floor (effect-dspy's share)")
  ratio("ours", "floor", "ours / bare floor (target at most 2x)")
}

const main = async () => {
  console.log(
    `load: ${conversations} conversations with their event streams open, ${streaming} streaming at once; answers of ${words} tokens ` +
      `at ${tps} tokens/s after ${ttft} ms; ${warmupSeconds} s warm-up, ${seconds} s measured` +
      (serverHeapMib > 0 ? `; server heap limit ${serverHeapMib} MiB` : "") + `; open files ${shellLimit("-Sn")}`
  )
  const simulator = await spawnServer("simulator.ts", ["--words", String(words), "--tps", String(tps), "--ttft", String(ttft)], {})
  const clientCpu = process.cpuUsage()
  const simulatorCpu = procCpuMillis(simulator.pid)
  const results = new Map<ServerKind, Figures>()
  let simulatorCpuAfter: number | undefined
  const start: Record<ServerKind, () => Promise<Child>> = {
    ours: () =>
      spawnServer("main.ts", [], {
        PORT: "0",
        CHAT_LM_TIMEOUT_SECONDS: String(lmTimeout),
        CHAT_MAX_CONVERSATIONS_PER_CLIENT: String(conversations + 100),
        EFFECT_DSPY_MODEL: "openai-compatible/sim-1",
        OPENAI_COMPATIBLE_BASE_URL: `${simulator.url}/v1`
      }, [
        ...(serverHeapMib > 0 ? [`--max-old-space-size=${serverHeapMib}`] : []),
        ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`])
      ]),
    effect: () =>
      spawnServer("effectFloor.ts", ["--upstream", simulator.url], {}, serverHeapMib > 0 ? [`--max-old-space-size=${serverHeapMib}`] : []),
    floor: () => spawnServer("floor.ts", ["--upstream", simulator.url], {})
  }
  const names: Record<ServerKind, string> = {
    ours: "chat server (effect-dspy)",
    effect: "Effect floor (effectFloor.ts: @effect/platform + @effect/experimental Sse, no effect-dspy)",
    floor: "floor (floor.ts: bare node:http proxy)"
  }
  try {
    for (const kind of servers) {
      const server = await start[kind]()
      try {
        results.set(kind, await runLoad(names[kind], server.url, server.pid))
      } finally {
        await server.stop()
      }
    }
  } finally {
    agent.destroy()
    streamAgent.destroy()
    simulatorCpuAfter = procCpuMillis(simulator.pid)
    await simulator.stop()
  }
  const perToken = new Map<ServerKind, number>()
  for (const [kind, f] of results) {
    console.log(`\n${f.name}`)
    perToken.set(kind, report(f))
  }
  summary(results, perToken)
  const used = process.cpuUsage(clientCpu)
  console.log(`load generator CPU: ${ms((used.user + used.system) / 1000)} in all`)
  if (simulatorCpu !== undefined && simulatorCpuAfter !== undefined) {
    console.log(`simulator CPU: ${ms(simulatorCpuAfter - simulatorCpu)} in all`)
  }
}

if (ensureOpenFiles() === "ok") {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
