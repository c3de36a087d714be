/**
 * The floor of the efficiency benchmark: how close to the ideal 15 x 100 ms this machine gets
 * with no Effect, no simulator and no effect-dspy at all. A bare `node:http` server answers
 * every request with a fixed chat completion `LATENCY` ms after the request arrived (in a child
 * process, as the simulator runs for `efficiency.ts`), and a bare `node:http` keep-alive client
 * runs 150 calls at concurrency 10 against it. The server answers in one of two ways:
 *
 * - `timer`: a plain `setTimeout` for the rest of the latency. Node fires timers from the event
 *   loop's cached millisecond time, so it answers up to ~1.5 ms early (about 0.3-0.5 ms on
 *   average here): a floor that is better than the ideal allows;
 * - `on-time`: never before the latency has passed: a timer until 2 ms before, then a check of
 *   the clock once per event-loop turn until the instant.
 *
 *   pnpm exec tsx packages/batch/bench/floor.ts            # both floors, 5 runs each after a warm-up
 *   pnpm exec tsx packages/batch/bench/floor.ts --against http://127.0.0.1:8787   # and the same client
 *     against another server (the simulator: pnpm exec tsx packages/simulator/src/bin.ts --port 8787 --latency 100)
 *   pnpm exec tsx packages/batch/bench/floor.ts --serve 8799 [--on-time]
 *   SIM_URL=http://127.0.0.1:8799 pnpm exec tsx packages/batch/bench/efficiency.ts
 *
 * The second form leaves a bare server running, so that `efficiency.ts` can be run against it:
 * the difference between the two figures is the client stack's, not the simulator's.
 *
 * Plain Node on purpose (no Effect): a floor must not contain what it is the floor of. The
 * servers are this file run again with `--child PORT MODE`.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import * as os from "node:os"
import { fileURLToPath } from "node:url"

const thisFile = fileURLToPath(import.meta.url)

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const ITEMS = 150
const CONCURRENCY = 10
const IDEAL = Math.ceil(ITEMS / CONCURRENCY) * LATENCY

type Mode = "timer" | "on-time"

const content = "[[ ## answer ## ]]\nFour.\n\n[[ ## completed ## ]]"
const replyBody = JSON.stringify({
  id: "chatcmpl-floor",
  object: "chat.completion",
  created: 1,
  model: "sim-1",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 }
})

/** The bare server (in the child process): every request answered `LATENCY` ms after it arrived. */
const serve = (port: number, mode: Mode) => {
  const server = http.createServer((req, res) => {
    const arrived = process.hrtime.bigint()
    req.resume()
    req.on("end", () => {
      const answer = () => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(replyBody)
      }
      const rest = LATENCY - Number(process.hrtime.bigint() - arrived) / 1e6
      if (mode === "timer") return void setTimeout(answer, rest)
      const at = arrived + BigInt(LATENCY * 1e6)
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

/** Starts the bare server in a child process; resolves with its base URL. */
const startServer = (port: number, mode: Mode) =>
  new Promise<{ readonly base: string; readonly stop: () => void }>((resolve, reject) => {
    // the same loader flags as this process (tsx)
    const child = spawn(process.execPath, [...process.execArgv, thisFile, "--child", String(port), mode], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    children.push(child)
    child.on("exit", (code) => reject(new Error(`the bare server exited (${code})`)))
    child.stdout.setEncoding("utf8").once("data", (line: string) => resolve({ base: line.trim(), stop: () => child.kill() }))
  })

// The servers are children: they go when this script does, however it ends.
const children: Array<ReturnType<typeof spawn>> = []
const killChildren = () => {
  for (const child of children) child.kill()
}
process.on("exit", killChildren)
process.on("SIGINT", () => process.exit(130))
process.on("SIGTERM", () => process.exit(143))

const requestBody = JSON.stringify({
  model: "sim-1",
  messages: [{ role: "system", content: "Answer the question." }, { role: "user", content: "What is 2 + 2?" }]
})

const call = (url: URL, agent: http.Agent) =>
  new Promise<void>((resolve, reject) => {
    const request = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("end", () => {
        // only a whole, parsed 200 counts: a 429 or 5xx from the server measured is not a call done
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
    request.end(requestBody)
  })

const run = async (url: URL, agent: http.Agent) => {
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < ITEMS) {
      next++
      await call(url, agent)
    }
  }))
  return performance.now() - start
}

const serveArg = process.argv.indexOf("--serve")
const requestedMode: Mode = process.argv.includes("--on-time") ? "on-time" : "timer"

const main = async () => {
  if (serveArg !== -1) {
    const { base } = await startServer(Number(process.argv[serveArg + 1] ?? 8799), requestedMode)
    console.log(
      `bare fixed-latency server (${LATENCY} ms, ${requestedMode}) at ${base}; SIM_URL=${base} for efficiency.ts; Ctrl-C stops it`
    )
    return
  }
  const againstArg = process.argv.indexOf("--against")
  const against = againstArg === -1 ? undefined : process.argv[againstArg + 1]
  if (againstArg !== -1 && (against === undefined || !/^https?:\/\//.test(against))) {
    throw new Error("--against expects a base URL, e.g. --against http://127.0.0.1:8787")
  }
  const modes: ReadonlyArray<Mode> = ["timer", "on-time"]
  const servers = await Promise.all(modes.map((mode) => startServer(0, mode)))
  const names: ReadonlyArray<string> = against === undefined ? modes : [...modes, against]
  const urls = [...servers.map(({ base }) => base), ...(against === undefined ? [] : [against])]
    .map((base) => new URL("/v1/chat/completions", base))
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY }))
  const walls: Array<Array<number>> = urls.map(() => [])
  for (let m = 0; m < urls.length; m++) await run(urls[m]!, agents[m]!)
  // interleaved, so that all see the same machine
  for (let i = 0; i < 5; i++) for (let m = 0; m < urls.length; m++) walls[m]!.push(await run(urls[m]!, agents[m]!))
  console.log(
    `floor: bare node:http client and server, ${ITEMS} calls at concurrency ${CONCURRENCY}, latency ${LATENCY} ms; ideal ${IDEAL} ms ` +
      `(node ${process.version}, ${os.cpus().length} cpu(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")})`
  )
  for (let m = 0; m < urls.length; m++) {
    const ws = walls[m]!
    const best = Math.min(...ws)
    console.log(
      `  server ${names[m]!.padEnd(7)}: ${ws.map((w) => `${((w / IDEAL - 1) * 100).toFixed(2)}%`).join(" ")} over ideal; ` +
        `best ${best.toFixed(1)} ms (${((best / IDEAL - 1) * 100).toFixed(2)}%)`
    )
  }
  for (const agent of agents) agent.destroy()
  for (const server of servers) server.stop()
}

const childArg = process.argv.indexOf("--child")
if (childArg !== -1) {
  serve(Number(process.argv[childArg + 1]), process.argv[childArg + 2] === "on-time" ? "on-time" : "timer")
} else {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
