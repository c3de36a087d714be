import { spawn } from "node:child_process"

/** What a child process printed and how it ended. */
export interface ChildResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
  /** Set when the child was stopped for running past its time limit. */
  readonly timedOut: boolean
}

/**
 * Runs `node --import tsx script ...args` (or another command) and collects its output; its
 * output is also echoed, indented, when `echo` is set, so a long run shows progress.
 */
export const runChild = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string>>
    readonly echo?: boolean
    readonly cwd?: string
    readonly timeoutMillis?: number
  } = {}
): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
      // its own process group, so that a timeout stops the simulators it started too
      detached: true,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd })
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString()
      if (options.echo === true) process.stdout.write(indent(data.toString()))
    })
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString()
      if (options.echo === true) process.stderr.write(indent(data.toString()))
    })
    let timedOut = false
    // A benchmark that hangs must not hang the suite: stop its whole process group.
    const timer = options.timeoutMillis === undefined ? undefined : setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
    }, options.timeoutMillis)
    // Ctrl-C of the suite must reach the detached group too.
    const interrupt = () => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
      process.exit(130)
    }
    process.once("SIGINT", interrupt)
    child.on("error", reject)
    child.on("close", (code) => {
      process.off("SIGINT", interrupt)
      clearTimeout(timer)
      resolve({ code, stdout, stderr, millis: performance.now() - t0, timedOut })
    })
  })

const indent = (text: string) => text.replace(/^(?=.)/gm, "    ")

/** Runs a TypeScript script with tsx in a fresh Node process. */
export const runScript = (
  script: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string>>
    readonly echo?: boolean
    readonly nodeFlags?: ReadonlyArray<string>
    readonly timeoutMillis?: number
  } = {}
): Promise<ChildResult> => runChild(process.execPath, [...(options.nodeFlags ?? []), "--import", "tsx", script, ...args], options)
