/**
 * The floor of the efficiency benchmark, alone: how close to the ideal 15 x 100 ms this machine
 * gets with no Effect and no effect-dspy at all, a bare `node:http` client against the two bare
 * servers of `bare.ts` (one on Node's timers, which answers up to ~1.5 ms early, and one never
 * early), interleaved, 5 runs each after a warm-up. `efficiency.ts` measures the on-time floor in
 * its own run, next to `Batch.run`, for its target.
 *
 *   pnpm exec tsx packages/bench/src/batch/floor.ts                 (LATENCY=100)
 *   pnpm exec tsx packages/bench/src/batch/floor.ts --against URL   the same client against another server
 *   pnpm exec tsx packages/bench/src/batch/floor.ts --serve 8799 [--on-time]   leave a bare server running
 */
import * as Bare from "./bare.js"
import { machine, over } from "./common.js"

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const ITEMS = 150
const CONCURRENCY = 10
const IDEAL = Math.ceil(ITEMS / CONCURRENCY) * LATENCY
const questions = Array.from({ length: ITEMS }, (_, i) => `Question ${i}: what is 2 + 2?`)

const main = async () => {
  const serveAt = process.argv.indexOf("--serve")
  if (serveAt !== -1) {
    const mode: Bare.Mode = process.argv.includes("--on-time") ? "on-time" : "timer"
    const { base } = await Bare.startServer(mode, LATENCY, Number(process.argv[serveAt + 1] ?? 8799))
    console.log(`bare fixed-latency server (${LATENCY} ms, ${mode}) at ${base}; Ctrl-C stops it`)
    return await new Promise<never>(() => {})
  }
  const againstAt = process.argv.indexOf("--against")
  const against = againstAt === -1 ? undefined : process.argv[againstAt + 1]
  const servers = await Promise.all((["timer", "on-time"] as const).map((mode) => Bare.startServer(mode, LATENCY)))
  const targets = [
    { name: "timer", base: servers[0]!.base },
    { name: "on-time", base: servers[1]!.base },
    ...(against === undefined ? [] : [{ name: against, base: against }])
  ].map((t) => ({ ...t, client: Bare.client(t.base, CONCURRENCY), walls: [] as Array<number> }))
  for (const t of targets) await t.client.run(questions)
  for (let i = 0; i < 5; i++) for (const t of targets) t.walls.push(await t.client.run(questions))
  console.log(`floor: bare node:http client and server, ${ITEMS} calls at concurrency ${CONCURRENCY}, latency ${LATENCY} ms; ideal ${IDEAL} ms (${machine()})`)
  for (const t of targets) {
    const best = Math.min(...t.walls)
    console.log(`  server ${t.name.padEnd(7)}: ${t.walls.map((w) => over(w, IDEAL)).join(" ")} over ideal; best ${best.toFixed(1)} ms (${over(best, IDEAL)})`)
    t.client.close()
  }
  for (const s of servers) s.stop()
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
