/**
 * What an idle open conversation's parts hold on the V8 heap, one kind at a time: `--count` of
 * each are made and kept, and the heap after two full collections is compared with before.
 * Why the chat server's open event stream is a Node pipe and not an Effect `Stream`: a fiber
 * parked inside a running `Stream` holds ~20 KiB, one parked on a promise ~1 KiB.
 * Prints figures, asserts nothing.
 *
 *   node --expose-gc --import tsx packages/bench/src/simulator/idleMemory.ts [--count 10000]
 */
import { Conversation } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { parseArgs } from "node:util"

const { values } = parseArgs({ options: { count: { type: "string", default: "10000" } } })
const COUNT = Number(values.count)

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with node --expose-gc")
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** A promise that never settles and keeps nothing alive (unlike `Effect.never`, which holds a timer). */
const pending = () => new Promise<never>(() => {})

const kinds: Record<string, () => unknown> = {
  "fiber parked on a promise": () => Effect.runFork(Effect.promise(pending)),
  "fiber parked in a running Stream": () => Effect.runFork(Stream.runDrain(Stream.fromEffect(Effect.promise(pending)))),
  "fiber parked in Stream.fromQueue": () => {
    const queue = Effect.runSync(Queue.unbounded<number>())
    return [queue, Effect.runFork(Stream.runDrain(Stream.fromQueue(queue)))]
  },
  "fiber parked in Mailbox.toStream": () => {
    const mailbox = Effect.runSync(Mailbox.make<number>())
    return [mailbox, Effect.runFork(Stream.runDrain(Mailbox.toStream(mailbox)))]
  },
  "Conversation.make (system, maxMessages)": () => Effect.runSync(Conversation.make({ system: "Be brief.", maxMessages: 40 }))
}

const main = async () => {
  console.log(`idle memory: ${COUNT} of each kind, heap after full GC`)
  for (const [name, make] of Object.entries(kinds)) {
    make()
    const before = heap()
    const kept: Array<unknown> = []
    for (let i = 0; i < COUNT; i++) kept.push(make())
    // let forked fibers start and park
    await new Promise((resolve) => setTimeout(resolve, 50))
    const after = heap()
    console.log(`  ${name.padEnd(42)} ${((after - before) / COUNT / 1024).toFixed(2).padStart(6)} KiB each (${kept.length} kept)`)
  }
  process.exit(0)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
