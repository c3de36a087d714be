/**
 * Load test of the chat server: N concurrent SSE conversations (default 10,000) on loopback.
 *
 *   ulimit -n 65536   # each stream is a socket on both sides
 *   pnpm exec tsx examples/chat-server/load.ts [--conversations 10000] [--words 100] [--tps 50]
 *     [--ttft 200] [--ramp-ms 0] [--max-pending 1000] [--warmup 50] [--lm-timeout 60] [--upstream http|in-process]
 *     [--create-concurrency 256] [--server-heap-mib 768] [--url http://… (an already running server)]
 *
 * The chat server runs as a child process (`node --import tsx examples/chat-server/main.ts`,
 * PORT=0) so that its memory is measured alone; its model is the simulator server, another child
 * process (`simulator.ts`), over loopback HTTP (`--upstream in-process` puts the simulator inside
 * the chat server instead). Each answer is `--words` tokens at `--tps` tokens per second after
 * `--ttft` ms. This process creates the conversations, then opens every stream (at once, or spread
 * over `--ramp-ms`), with at most `--max-pending` requests awaiting their response headers (a
 * kernel accept queue that overflows resets connections), and reports: how many completed, the
 * server's peak RSS, time to first token (as the client sees it from sending the request, and
 * as the server sees it from reading the request, each minus the simulator's own TTFT), and the
 * server's event-loop delay, and the CPU each process used. `--lm-timeout 0` turns off the
 * provider's idle timeout; `--server-heap-mib` is the server's V8 heap limit (0: V8's default).
 *
 * Set `EFFECT_DSPY_MODEL` and a key to point the server at a real provider instead (it then
 * ignores the simulator settings). A script, not a test: it prints figures and asserts nothing.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import type { Stats } from "./ChatServer.js"

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  const value = i === -1 ? undefined : Number(args[i + 1])
  return value === undefined || !Number.isFinite(value) ? fallback : value
}

const conversations = option("conversations", 10_000)
const words = option("words", 100)
const tps = option("tps", 50)
const ttft = option("ttft", 200)
const rampMillis = option("ramp-ms", 0)
const createConcurrency = option("create-concurrency", 256)
const lmTimeout = option("lm-timeout", 60)
const maxPending = option("max-pending", 1000)
const warmup = option("warmup", 50)
/** The chat server's V8 old-space limit in MiB (`--max-old-space-size`); 0 keeps V8's default. */
const serverHeapMib = option("server-heap-mib", 768)
const upstreamIndex = args.indexOf("--upstream")
/** Where the chat server's model is: the simulator server over loopback HTTP, or in its process. */
const upstream = upstreamIndex !== -1 && args[upstreamIndex + 1] === "in-process" ? "in-process" : "http"
const urlIndex = args.indexOf("--url")
/** An already running server to use instead of a child (its simulator settings are its own). */
const externalUrl = urlIndex === -1 ? undefined : args[urlIndex + 1]

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")

// Keep-alive for the short requests; one connection per stream (as many sockets as streams),
// which also avoids reusing a socket the server is closing after its keep-alive timeout.
const agent = new Http.Agent({ keepAlive: true, maxSockets: 256 })
const streamAgent = new Http.Agent({ keepAlive: false, maxSockets: Infinity })

interface Child {
  readonly url: string
  readonly stop: () => Promise<void>
  /** CPU time the child has used so far (Linux /proc; undefined elsewhere). */
  readonly cpuMillis: () => number | undefined
}

/** User + system CPU of a process from /proc/<pid>/stat (clock ticks of 10 ms). */
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

/** Runs `node --import tsx script` and resolves with the URL it prints. */
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
        resolve({
          url: match[1]!,
          cpuMillis: () => procCpuMillis(child.pid),
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done()
              child.once("exit", () => done())
              child.kill("SIGINT")
            })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`${script} exited early (code ${code})`)))
  })

// On a machine with plenty of memory V8 lets garbage pile up far beyond the live set (a
// stream's turn allocates a lot that dies young); a limit makes it collect sooner, as a
// container's memory limit would.
const serverNodeArgs = serverHeapMib > 0 ? [`--max-old-space-size=${serverHeapMib}`] : []

/** The chat server, streaming from the simulator server (`http`) or the in-process simulator. */
const startServers = async (): Promise<
  { readonly url: string; readonly stop: () => Promise<void>; readonly simulatorCpuMillis: () => number | undefined }
> => {
  if (upstream === "in-process") {
    const server = await spawnServer("main.ts", [], {
      PORT: "0",
      CHAT_LM_TIMEOUT_SECONDS: String(lmTimeout),
      SIM_TTFT_MS: String(ttft),
      SIM_TOKENS_PER_SECOND: String(tps),
      CHAT_SIM_ANSWER_WORDS: String(words)
    }, serverNodeArgs)
    return { ...server, simulatorCpuMillis: () => undefined }
  }
  const simulator = await spawnServer("simulator.ts", ["--words", String(words), "--tps", String(tps), "--ttft", String(ttft)], {})
  console.log(`simulator: ${simulator.url} (child process)`)
  const server = await spawnServer("main.ts", [], {
    PORT: "0",
    CHAT_LM_TIMEOUT_SECONDS: String(lmTimeout),
    EFFECT_DSPY_MODEL: "openai-compatible/sim-1",
    OPENAI_COMPATIBLE_BASE_URL: `${simulator.url}/v1`
  }, serverNodeArgs)
  return {
    url: server.url,
    simulatorCpuMillis: simulator.cpuMillis,
    stop: async () => {
      await server.stop()
      await simulator.stop()
    }
  }
}

const request = (url: string, method: string, body?: string): Promise<{ status: number; text: string }> =>
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
    req.on("error", reject)
    req.end(body)
  })

interface StreamResult {
  readonly ok: boolean
  readonly error?: string
  /** From sending the request to the first token event. */
  readonly firstTokenMillis: number
  readonly totalMillis: number
  readonly tokens: number
}

const TOKEN = "event: token"
const DONE = "event: done"

const countOf = (text: string, needle: string): number => {
  let n = 0
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++
  return n
}

/** At most `n` holders at once; `take` resolves when a slot is free, with how long it waited. */
const gate = (n: number) => {
  let free = n
  const waiting: Array<() => void> = []
  return {
    take: (): Promise<number> => {
      const asked = performance.now()
      if (free > 0) {
        free--
        return Promise.resolve(0)
      }
      return new Promise((resolve) => waiting.push(() => resolve(performance.now() - asked)))
    },
    release: () => {
      const next = waiting.shift()
      if (next !== undefined) next()
      else free++
    }
  }
}

const openStream = (url: string, message: string, onResponse: () => void): Promise<StreamResult> =>
  new Promise((resolve) => {
    const start = performance.now()
    const body = JSON.stringify({ message })
    let first = -1
    let tokens = 0
    let done = false
    let tail = ""
    const fail = (error: string) =>
      resolve({ ok: false, error, firstTokenMillis: first, totalMillis: performance.now() - start, tokens })
    const req = Http.request(url, {
      method: "POST",
      agent: streamAgent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (res) => {
      onResponse()
      if (res.statusCode !== 200) {
        res.resume()
        return fail(`HTTP ${res.statusCode}`)
      }
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        // keep a short tail so that a marker split across chunks is still seen once
        const text = tail + chunk
        const n = countOf(text, TOKEN)
        if (n > 0 && first < 0) first = performance.now() - start
        tokens += n
        if (!done && text.includes(DONE)) done = true
        // "event: token" cannot overlap itself, so a tail one character shorter never counts twice
        tail = text.slice(-(TOKEN.length - 1))
      })
      res.on("end", () =>
        done
          ? resolve({ ok: true, firstTokenMillis: first, totalMillis: performance.now() - start, tokens })
          : fail(`ended without a done event after ${tokens} tokens`))
      res.on("error", (e) => fail(e.message))
    })
    let responded = false
    req.once("response", () => (responded = true))
    req.on("error", (e) => {
      if (!responded) onResponse()
      fail(e.message)
    })
    req.end(body)
  })

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const ms = (x: number) => `${x.toFixed(1)} ms`
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

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

const main = async () => {
  console.log(
    `load: ${conversations} conversations, answers of ${words} tokens at ${tps} tokens/s after ${ttft} ms` +
      (rampMillis > 0 ? `, streams opened over ${rampMillis} ms` : ", streams opened at once") +
      (serverHeapMib > 0 ? `, server heap limit ${serverHeapMib} MiB` : "") +
      `, model: ${upstream === "http" ? "simulator server over loopback HTTP" : "in-process simulator"}`
  )
  const server = externalUrl === undefined
    ? await startServers()
    : { url: externalUrl, stop: () => Promise.resolve(), simulatorCpuMillis: () => undefined }
  console.log(`server: ${server.url} (${externalUrl === undefined ? "child process" : "external"})`)
  try {
    const createStart = performance.now()
    const ids = await pool(conversations, createConcurrency, async () => {
      const r = await request(`${server.url}/api/conversations`, "POST")
      if (r.status !== 201) throw new Error(`create: HTTP ${r.status} ${r.text}`)
      return (JSON.parse(r.text) as { id: string }).id
    })
    console.log(`created ${ids.length} conversations in ${ms(performance.now() - createStart)}`)
    // Warm up (JIT, lazily loaded modules, upstream connections) with a few turns of extra conversations.
    if (warmup > 0) {
      const warm = await pool(warmup, warmup, async (i) => {
        const r = await request(`${server.url}/api/conversations`, "POST")
        const id = (JSON.parse(r.text) as { id: string }).id
        return openStream(`${server.url}/api/conversations/${id}/messages`, `warm-up ${i}`, () => {})
      })
      console.log(`warm-up: ${warm.filter((r) => r.ok).length} / ${warmup} turns`)
    }
    await request(`${server.url}/admin/stats/reset`, "POST")
    const before = JSON.parse((await request(`${server.url}/admin/stats`, "GET")).text) as Stats

    const clientLoop = monitorEventLoopDelay({ resolution: 10 })
    clientLoop.enable()
    const clientCpu = process.cpuUsage()
    const simulatorCpuBefore = server.simulatorCpuMillis()
    const start = performance.now()
    const pending = gate(maxPending)
    const waits: Array<number> = []
    const open = async (id: string, i: number): Promise<StreamResult> => {
      waits.push(await pending.take())
      const url = `${server.url}/api/conversations/${id}/messages`
      return openStream(url, `Question ${i}: how do fibers hold thousands of streams?`, pending.release)
    }
    const results = await Promise.all(ids.map((id, i) =>
      rampMillis <= 0
        ? open(id, i)
        : new Promise<StreamResult>((resolve) => setTimeout(() => resolve(open(id, i)), (i / conversations) * rampMillis))
    ))
    waits.sort((a, b) => a - b)
    const wall = performance.now() - start
    clientLoop.disable()
    const clientCpuUsed = process.cpuUsage(clientCpu)
    const simulatorCpuAfter = server.simulatorCpuMillis()
    const stats = JSON.parse((await request(`${server.url}/admin/stats`, "GET")).text) as Stats

    const ok = results.filter((r) => r.ok)
    const errors = new Map<string, number>()
    for (const r of results) if (!r.ok) errors.set(r.error ?? "?", (errors.get(r.error ?? "?") ?? 0) + 1)
    const firsts = ok.map((r) => r.firstTokenMillis).sort((a, b) => a - b)
    const totals = ok.map((r) => r.totalMillis).sort((a, b) => a - b)
    const tokens = ok.reduce((n, r) => n + r.tokens, 0)

    console.log("")
    console.log(`completed:            ${ok.length} / ${conversations} (${conversations - ok.length} errors)`)
    for (const [error, n] of errors) console.log(`  error x${n}: ${error}`)
    console.log(`wall time:            ${ms(wall)} for ${tokens} tokens (${(tokens / (wall / 1000)).toFixed(0)} tokens/s)`)
    console.log(`stream duration:      p50 ${ms(percentile(totals, 50))}, p99 ${ms(percentile(totals, 99))} (simulator alone: ${ms(ttft + (words - 1) * 1000 / tps)})`)
    console.log(`server streams:       at most ${stats.maxActiveStreams} open at once`)
    console.log(`server peak RSS:      ${mib(stats.maxRssBytes)} (now ${mib(stats.rssBytes)}; before the streams ${mib(before.rssBytes)})`)
    console.log(`server heap:          at most ${mib(stats.maxHeapUsedBytes)} used, ${mib(stats.maxExternalBytes)} external`)
    const cpu = stats.cpuMillis - before.cpuMillis
    console.log(
      `server CPU:           ${ms(cpu)} during the streams (${(cpu * 1000 / Math.max(1, tokens)).toFixed(1)} µs per token, ${(cpu / Math.max(1, ok.length)).toFixed(2)} ms per stream)`
    )
    console.log(
      `client admission:     at most ${maxPending} requests awaiting headers; waited p50 ${ms(percentile(waits, 50))}, p99 ${ms(percentile(waits, 99))}`
    )
    console.log(
      `TTFT, client:         p50 ${ms(percentile(firsts, 50))}, p99 ${ms(percentile(firsts, 99))}, max ${ms(firsts[firsts.length - 1] ?? NaN)}`
    )
    console.log(
      `  added to the simulator's ${ttft} ms: p50 ${ms(percentile(firsts, 50) - ttft)}, p99 ${ms(percentile(firsts, 99) - ttft)}`
    )
    console.log(
      `TTFT, server:         p50 ${ms(stats.firstTokenMillis.p50)}, p99 ${ms(stats.firstTokenMillis.p99)}, max ${ms(stats.firstTokenMillis.max)} (request read to first token written)`
    )
    console.log(
      `  added to the simulator's ${ttft} ms: p50 ${ms(stats.firstTokenMillis.p50 - ttft)}, p99 ${ms(stats.firstTokenMillis.p99 - ttft)}`
    )
    console.log(
      `server event loop:    delay p50 ${ms(stats.eventLoopDelayMillis.p50)}, p99 ${ms(stats.eventLoopDelayMillis.p99)}, max ${ms(stats.eventLoopDelayMillis.max)}`
    )
    console.log(
      `client event loop:    delay p50 ${ms(clientLoop.percentile(50) / 1e6)}, p99 ${ms(clientLoop.percentile(99) / 1e6)}, max ${ms(clientLoop.max / 1e6)}`
    )
    console.log(`client CPU:           ${ms((clientCpuUsed.user + clientCpuUsed.system) / 1000)} during the streams`)
    if (simulatorCpuBefore !== undefined && simulatorCpuAfter !== undefined) {
      console.log(`simulator CPU:        ${ms(simulatorCpuAfter - simulatorCpuBefore)} during the streams`)
    }
  } finally {
    agent.destroy()
    streamAgent.destroy()
    await server.stop()
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
