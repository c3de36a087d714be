/**
 * What the benchmark scripts share: the simulator server in a child process (so that a client's
 * CPU is measured alone), a worker pool for plain-Promise floors, medians, and CPU per call.
 */
import { fork } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { SimulatorConfig, type SimulatorServer } from "@effect-dspy/simulator"
import * as Option from "effect/Option"
import { describeMachine, machine } from "../suite/machine.js"
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

/** A latency written as the simulator's command line takes it (`200`, `uniform:500-2000`, …); a bad one throws. */
export const latency = (spec: string): SimulatorConfig.Latency =>
  Option.getOrThrowWith(
    SimulatorConfig.parseLatency(spec),
    () => new Error(`bad latency "${spec}": write 200, fixed:200, uniform:50-300 or lognormal:400,0.6`)
  )

/**
 * The line a script prints before its figures: the date, the machine, the load average and the
 * command that reproduces the run (figures on a shared machine mean little without them).
 */
export const runHeader = (): string => {
  const script = Path.relative(process.cwd(), process.argv[1] ?? "")
  // tsx's own loader flags (however it was started) written as `--import tsx`
  const all = process.execArgv
  const loader = (i: number) => (all[i] === "--import" || all[i] === "--require") && /tsx/.test(all[i + 1] ?? "")
  const flags = all.filter((_, i) => !loader(i) && !loader(i - 1))
  const command = ["node", ...flags, "--import", "tsx", script, ...process.argv.slice(2)].join(" ")
  return `${describeMachine(machine())}\ncommand: ${command}`
}

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
