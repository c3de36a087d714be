/**
 * The telemetry benchmarks' OTLP receiver: a child process (so that its CPU is not charged to
 * the measured process) that accepts every request, or (`hang`) reads every request and never
 * answers, like a collector that is stuck; `stats` asks it for its counts.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface Receiver {
  /** `http://127.0.0.1:{port}` */
  readonly baseUrl: string
  readonly stats: () => Promise<string>
  readonly stop: () => void
}

export const startReceiver = (mode: "accept" | "hang" = "accept"): Promise<Receiver> =>
  new Promise((resolve, reject) => {
    const code = `
      const http = require("node:http"); let bytes = 0, requests = 0; const hang = ${JSON.stringify(mode === "hang")}
      const server = http.createServer((req, res) => {
        req.on("data", (c) => (bytes += c.length))
        req.on("end", () => { requests++; if (hang) return; res.writeHead(200, { "content-type": "application/x-protobuf" }); res.end() })
      })
      // Idle connections stay open a minute, as a collector's do (Node's 5 s default races the
      // client's reuse of a connection on a busy machine: "other side closed" mid-export).
      server.keepAliveTimeout = 60000
      server.listen(0, "127.0.0.1", () => console.log("http://127.0.0.1:" + server.address().port))
      process.stdin.on("data", () => console.log("stats " + requests + " requests, " + (bytes / 1048576).toFixed(1) + " MiB"))`
    const child = spawn(process.execPath, ["-e", code], { stdio: ["pipe", "pipe", "inherit"] })
    const waiting: Array<(line: string) => void> = []
    let started = false
    child.stdout.setEncoding("utf8").on("data", (data: string) => {
      for (const line of data.split("\n").filter((l) => l !== "")) {
        if (!started && line.startsWith("http://")) {
          started = true
          resolve({
            baseUrl: line,
            stats: () => new Promise((res) => (waiting.push(res), child.stdin.write("stats\n"))),
            stop: () => child.kill("SIGTERM")
          })
        } else if (line.startsWith("stats ")) waiting.shift()?.(line.slice(6))
      }
    })
    child.on("exit", (code) => started || reject(new Error(`receiver exited with ${code}`)))
  })

/** A loopback base URL nobody listens on: connections are refused at once. */
export const closedPortUrl = (): Promise<string> =>
  new Promise((resolve) => {
    const probe = http.createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(`http://127.0.0.1:${port}`))
    })
  })
