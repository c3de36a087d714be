/**
 * The floor of the efficiency benchmark: how close to the ideal 15 x 100 ms this machine gets
 * with no Effect, no simulator and no effect-dspy at all. A bare `node:http` server answers
 * every request with a fixed chat completion `LATENCY` ms after the request arrived (in a child
 * process, as the simulator runs for `efficiency.ts`), and a bare `node:http` keep-alive client
 * runs 150 calls at concurrency 10 against it.
 *
 *   pnpm exec tsx packages/batch/bench/floor.ts            # the floor, 5 runs after a warm-up
 *   pnpm exec tsx packages/batch/bench/floor.ts --serve 8799
 *   SIM_URL=http://127.0.0.1:8799 pnpm exec tsx packages/batch/bench/efficiency.ts
 *
 * The second form leaves the bare server running, so that `efficiency.ts` can be run against it:
 * the difference between the two figures is the client stack's, not the simulator's.
 *
 * Plain Node on purpose (no Effect): a floor must not contain what it is the floor of.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import * as os from "node:os"

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const ITEMS = 150
const CONCURRENCY = 10
const IDEAL = Math.ceil(ITEMS / CONCURRENCY) * LATENCY

const serverCode = `
const http = require("node:http")
const content = "[[ ## answer ## ]]\\nFour.\\n\\n[[ ## completed ## ]]"
const body = JSON.stringify({ id: "chatcmpl-floor", object: "chat.completion", created: 1, model: "sim-1",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 } })
const server = http.createServer((req, res) => {
  const arrived = performance.now()
  req.resume()
  req.on("end", () => setTimeout(() => {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(body)
  }, Math.max(0, ${LATENCY} - (performance.now() - arrived))))
})
server.keepAliveTimeout = 60000
server.listen(Number(process.argv[1] ?? 0), "127.0.0.1", () => console.log("http://127.0.0.1:" + server.address().port))
`

const serveArg = process.argv.indexOf("--serve")
const port = serveArg === -1 ? 0 : Number(process.argv[serveArg + 1] ?? 8799)
const child = spawn(process.execPath, ["-e", serverCode, String(port)], {
  stdio: ["ignore", "pipe", "inherit"]
})

// The server is a child: it goes when this script does.
process.on("SIGINT", () => {
  child.kill()
  process.exit(130)
})

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
        JSON.parse(text)
        resolve()
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

child.stdout.setEncoding("utf8").once("data", async (line: string) => {
  const base = line.trim()
  if (serveArg !== -1) {
    console.log(`bare fixed-latency server (${LATENCY} ms) at ${base}; SIM_URL=${base} for efficiency.ts; Ctrl-C stops it`)
    return
  }
  const url = new URL("/v1/chat/completions", base)
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  await run(url, agent)
  const walls: Array<number> = []
  for (let i = 0; i < 5; i++) walls.push(await run(url, agent))
  console.log(
    `floor: bare node:http client and server, ${ITEMS} calls at concurrency ${CONCURRENCY}, latency ${LATENCY} ms; ideal ${IDEAL} ms ` +
      `(node ${process.version}, ${os.cpus().length} cpu(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")})`
  )
  for (const wall of walls) console.log(`  wall ${wall.toFixed(1)} ms = ${(wall / IDEAL).toFixed(4)}x ideal`)
  const best = Math.min(...walls)
  console.log(`  best ${best.toFixed(1)} ms (${((best / IDEAL - 1) * 100).toFixed(2)}% over ideal)`)
  agent.destroy()
  child.kill()
})
