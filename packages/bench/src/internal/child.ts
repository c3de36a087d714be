import { spawn } from "node:child_process"

/** What a child process printed and how it ended. */
export interface ChildResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/**
 * Runs `node --import tsx script ...args` (or another command) and collects its output; its
 * output is also echoed, indented, when `echo` is set, so a long run shows progress.
 */
export const runChild = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>>; readonly echo?: boolean; readonly cwd?: string } = {}
): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
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
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr, millis: performance.now() - t0 }))
  })

const indent = (text: string) => text.replace(/^(?=.)/gm, "    ")

/** Runs a TypeScript script with tsx in a fresh Node process. */
export const runScript = (
  script: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>>; readonly echo?: boolean; readonly nodeFlags?: ReadonlyArray<string> } = {}
): Promise<ChildResult> => runChild(process.execPath, [...(options.nodeFlags ?? []), "--import", "tsx", script, ...args], options)
