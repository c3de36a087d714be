/**
 * What the benchmark scripts share: the simulator server in a child process (so that a client's
 * CPU is measured alone), a worker pool for plain-Promise floors, medians, and CPU per call.
 */
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { SimulatorServer } from "@effect-dspy/simulator"
import type { Stats } from "./simulatorProcess.js"

const simulatorProcess = process.env["SIMULATOR_PROCESS"] ?? fileURLToPath(new URL("./simulatorProcess.ts", import.meta.url))

/**
 * A simulator server running in a child process: `simulatorProcess.ts`, or the script named by
 * `SIMULATOR_PROCESS` (to measure another build of the server against the same client, e.g. a
 * copy of an older commit's `src` with its own `simulatorProcess.ts`).
 */
export interface SimulatorProcess {
  readonly url: string
  readonly stop: () => void
  /** The server process's own CPU time and memory so far. */
  readonly stats: () => Promise<Stats>
}

/**
 * Starts the simulator server in a child process with these options (`port` is always 0, and
 * `answerWords` answers every request with that many words).
 */
export const startSimulator = (
  options: SimulatorServer.Options & { readonly answerWords?: number } = {},
  nodeFlags: ReadonlyArray<string> = []
): Promise<SimulatorProcess> =>
  new Promise((resolve, reject) => {
    const child = fork(simulatorProcess, [JSON.stringify(options)], {
      execArgv: [...nodeFlags, "--import", "tsx"],
      stdio: ["ignore", "pipe", "inherit", "ipc"]
    })
    let out = ""
    let asked = 0
    child.stdout!.on("data", (data: Buffer) => {
      out += data.toString()
      const match = /http:\/\/[^\s]+/.exec(out)
      if (match === null) return
      resolve({
        url: match[0],
        stop: () => child.kill("SIGTERM"),
        // each request carries an id, so that requests in flight never take each other's answers
        stats: () =>
          new Promise((answer) => {
            const id = ++asked
            const onMessage = (message: unknown) => {
              if (typeof message !== "object" || message === null || !("id" in message) || message.id !== id) return
              child.off("message", onMessage)
              answer((message as unknown as { readonly stats: Stats }).stats)
            }
            child.on("message", onMessage)
            child.send({ stats: id })
          })
      })
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

/** The value at quantile `q` (0..1) of `xs`, nearest rank. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN
}

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
