import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const here = Path.dirname(fileURLToPath(import.meta.url))
const simulatorBin = Path.resolve(here, "../../../simulator/src/bin.ts")

/** Starts the simulator CLI in a child process (so the client's CPU is measured alone). */
export const startSimulator = (extraArgs: ReadonlyArray<string>): Promise<{ readonly url: string; readonly stop: () => void }> =>
  new Promise((resolve, reject) => {
    const tsx = createRequire(import.meta.url).resolve("tsx")
    void tsx
    const child = spawn(process.execPath, ["--import", "tsx", simulatorBin, "--port", "0", ...extraArgs], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (data: Buffer) => {
      out += data.toString()
      const match = /http:\/\/[^\s]+/.exec(out)
      if (match) resolve({ url: match[0], stop: () => child.kill("SIGTERM") })
    })
    child.on("exit", (code) => reject(new Error(`simulator exited with ${code}`)))
  })

/** Runs `n` tasks with at most `concurrency` at once (the plain-Promise baseline's pool). */
export const pool = async (n: number, concurrency: number, task: () => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      await task()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export interface Measure {
  readonly cpuMicrosPerCall: number
  readonly callsPerSecond: number
}

/** Runs `run(n)` once: this process's CPU time per call (user + system) and calls per wall-clock second. */
export const measure = async (n: number, run: (n: number) => Promise<void>): Promise<Measure> => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run(n)
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { cpuMicrosPerCall: (cpu.user + cpu.system) / n, callsPerSecond: (n / wall) * 1000 }
}
