import { execFileSync } from "node:child_process"
import * as os from "node:os"

/** The machine and the moment a figure was taken on (benchmarks on shared machines need both). */
export interface Machine {
  readonly date: string
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly node: string
  readonly loadAverage: ReadonlyArray<number>
  readonly commit: string
}

const gitCommit = (): string => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "unknown"
  }
}

export const machine = (): Machine => ({
  date: new Date().toISOString(),
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  commit: gitCommit()
})

export const describeMachine = (m: Machine): string =>
  `${m.date.slice(0, 10)}, ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, commit ${m.commit}, load average ${
    m.loadAverage.join(" ")
  }`
