/**
 * What the cluster benchmarks share about processes: a command's path by its package's `bin`
 * entry, a child process whose output is kept for the report, and CPU read from `/proc`
 * (Linux only) for the runners and for PostgreSQL (the postmaster and its backends).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")

/** A package's command, by the `bin` entry of its (public) package.json. */
export const binOf = (pkg: string, command: string): string => {
  const manifestUrl = import.meta.resolve(`${pkg}/package.json`)
  const manifest = JSON.parse(fs.readFileSync(fileURLToPath(manifestUrl), "utf8")) as { bin?: Record<string, string> }
  const target = manifest.bin?.[command]
  if (target === undefined) throw new Error(`${pkg} has no ${command} command`)
  return fileURLToPath(new URL(target, manifestUrl))
}

/** A child process, its exit, and all it printed (stdout and stderr, interleaved). */
export interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly hasExited: () => boolean
  readonly output: () => string
}

/** Starts `node <args>` from the repository's root, logging at warning level. */
export const startNode = (name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Child => {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, EFFECT_DSPY_LOG_LEVEL: "warning", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => void (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => void (output += chunk.toString()))
  let exited = false
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      exited = true
      resolve({ code, signal })
    })
  )
  return { name, process: child, exited: done, hasExited: () => exited, output: () => output }
}

const ticks = 100 // USER_HZ on Linux

const statFields = (pid: number): ReadonlyArray<string> | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // after the command's closing parenthesis: fields[0] is the state (field 3 of proc(5))
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined // gone meanwhile
  }
}

/** utime + stime (`self`) and cutime + cstime (`children`) of a process in milliseconds; undefined once it is gone. */
export const cpuOf = (pid: number): { readonly self: number; readonly children: number } | undefined => {
  const fields = statFields(pid)
  if (fields === undefined) return undefined
  const n = (field: number) => Number(fields[field - 3]) * (1000 / ticks)
  return { self: n(14) + n(15), children: n(16) + n(17) }
}

/** A process's parent; undefined once it is gone. */
export const parentOf = (pid: number): number | undefined => {
  const fields = statFields(pid)
  return fields === undefined ? undefined : Number(fields[1])
}

/** The database's CPU so far in milliseconds: the postmaster, its live backends, its ended backends. */
export const databaseCpu = (dataDirectory: string): number => {
  const postmaster = Number(fs.readFileSync(path.join(dataDirectory, "postmaster.pid"), "utf8").split("\n")[0])
  const own = cpuOf(postmaster)
  let total = own === undefined ? 0 : own.self + own.children
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (parentOf(pid) === postmaster) total += cpuOf(pid)?.self ?? 0
  }
  return total
}
