/**
 * The simulator server's own CPU per request, against a bare `node:http` handler answering the
 * same kind of request with a fixed chat completion: each in a child process, driven by a bare
 * `node:http` keep-alive client at concurrency 10 with no latency, the child's CPU read from
 * `/proc/<pid>/stat` (Linux) before and after. Prints figures; asserts nothing.
 *
 *   pnpm exec tsx packages/simulator/bench/server-cpu.ts [requests=5000] [concurrency=10]
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"

const REQUESTS = Number(process.argv[2] ?? 5000)
const CONCURRENCY = Number(process.argv[3] ?? 10)
// clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux)
const TICKS_PER_SECOND = 100

const bareServer = `
const http = require("node:http")
const content = "[[ ## answer ## ]]\\nFour.\\n\\n[[ ## completed ## ]]"
const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
  let text = ""
  req.setEncoding("utf8")
  req.on("data", (chunk) => (text += chunk))
  req.on("end", () => {
    const request = JSON.parse(text)
    const body = JSON.stringify({ id: "chatcmpl-bare", object: "chat.completion", created: 1, model: request.model,
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 } })
    res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
    res.end(body)
  })
})
server.listen(0, "127.0.0.1", () => console.log("http://127.0.0.1:" + server.address().port))
`

const simulatorBin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

const start = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly child: ChildProcess; readonly url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk
      const match = /http:\/\/[^\s]+/.exec(out)
      if (match !== null) resolve({ child, url: match[0] })
    })
    child.on("exit", (code) => reject(new Error(`the server exited (${code})`)))
  })

/** The process's user + system CPU in milliseconds, from /proc. */
const cpuMillis = (pid: number): number => {
  const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // fields after the command (which may hold spaces) start after the last ")"
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

const body = (i: number) =>
  JSON.stringify({
    model: "sim-1",
    messages: [
      { role: "system", content: "Your input fields are:\n1. `question` (str)\nYour output fields are:\n1. `answer` (str)" },
      {
        role: "user",
        content: `[[ ## question ## ]]\nQuestion ${i}: what is ${i} plus 3?\n\nRespond with the corresponding output fields, ` +
          "starting with the field `[[ ## answer ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`."
      }
    ]
  })

const drive = async (url: string, requests: number) => {
  const target = new URL("/v1/chat/completions", url)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const call = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const request = Http.request(target, { method: "POST", agent, headers: { "content-type": "application/json" } }, (response) => {
        response.resume()
        response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))))
      })
      request.on("error", reject)
      request.end(body(i))
    })
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests) await call(next++)
  }))
  agent.destroy()
}

const measure = async (name: string, args: ReadonlyArray<string>) => {
  const { child, url } = await start(args)
  try {
    await drive(url, 1000) // warm-up
    const before = cpuMillis(child.pid!)
    const started = performance.now()
    await drive(url, REQUESTS)
    const wall = performance.now() - started
    const cpu = cpuMillis(child.pid!) - before
    console.log(
      `  ${name.padEnd(28)} server CPU ${(cpu * 1000 / REQUESTS).toFixed(0).padStart(4)} µs/request; ` +
        `${(REQUESTS / wall * 1000).toFixed(0)} requests/s`
    )
  } finally {
    child.kill()
  }
}

const main = async () => {
  if (!Fs.existsSync("/proc/self/stat")) {
    console.log("server-cpu: needs /proc (Linux) to read a child's CPU time")
    return
  }
  console.log(
    `server CPU per request: ${REQUESTS} requests at concurrency ${CONCURRENCY}, no latency ` +
      `(node ${process.version}, ${Os.cpus().length} cpu(s), load average ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")})`
  )
  await measure("simulator (bin.ts)", ["--import", "tsx", simulatorBin, "--port", "0", "--latency", "0"])
  await measure("bare node:http handler", ["-e", bareServer])
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
