/**
 * Wakes the server's event loop at given instants, from a worker thread that sleeps on
 * `Atomics.wait` until each one: on-time replies without polling.
 *
 * Why: a Node timer fires up to ~1.5 ms early or late (it runs on the loop's cached millisecond
 * time), so on-time replies otherwise need the loop to check the clock once per turn for the
 * last milliseconds before each instant, which keeps a core busy while replies wait; on a
 * machine with two cores that polling slows the client being measured. A thread blocked in
 * `Atomics.wait` wakes within tens of microseconds of its timeout without using the CPU, and its
 * message wakes the main loop at once. Written here because no library offers a precise
 * wake-up for Node's event loop.
 *
 * Instants are on `process.hrtime.bigint()`'s clock (shared by every thread of the process).
 *
 * @internal
 */
import { MessageChannel, Worker } from "node:worker_threads"

/**
 * Runs in the worker: keeps the instants sorted, sleeps until the earliest and posts once per
 * batch of passed ones. Instants come on their own port and are read synchronously at every
 * wake-up, so a new one is never missed however the wait ends.
 */
const workerSource = `
const { parentPort, receiveMessageOnPort, workerData } = require("node:worker_threads")
const { port, shared } = workerData
// the main thread sets it (and notifies) with each new instant, so that a wait ends early
const signal = new Int32Array(shared)
const due = []
let timer = undefined
const insert = (at) => {
  let i = due.length
  while (i > 0 && due[i - 1] > at) i--
  due.splice(i, 0, at)
}
const read = () => {
  Atomics.store(signal, 0, 0)
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) insert(m.message)
}
function run() {
  if (timer !== undefined) clearTimeout(timer)
  timer = undefined
  read()
  while (due.length > 0) {
    const remaining = Number(due[0] - process.hrtime.bigint()) / 1e6
    // far off: a timer (free), then the precise wait for the last 2 ms
    if (remaining > 2) return void (timer = setTimeout(run, remaining - 2))
    if (remaining > 0) {
      if (Atomics.wait(signal, 0, 0, remaining) !== "timed-out") read()
      continue
    }
    const now = process.hrtime.bigint()
    let passed = 0
    while (passed < due.length && due[passed] <= now) passed++
    due.splice(0, passed)
    parentPort.postMessage(0)
  }
}
// an instant that arrives while the worker is idle comes as an event (taken off the port)
port.on("message", (at) => {
  insert(at)
  run()
})
`

/** @internal */
export interface Waker {
  /** Wakes the loop (calls `onWake`) once `process.hrtime.bigint()` reads `at` or later. */
  readonly at: (at: bigint) => void
  /** Stops the worker. */
  readonly close: () => void
}

/**
 * Starts the worker; `onWake` runs on the main thread at each wake-up, `onFailure` if the worker
 * fails or exits (its pending instants are then lost: the caller must wake itself another way).
 * The worker does not keep the process alive.
 *
 * @internal
 */
export const make = (onWake: () => void, onFailure: () => void): Waker => {
  const shared = new SharedArrayBuffer(4)
  const signal = new Int32Array(shared)
  const { port1, port2 } = new MessageChannel()
  const worker = new Worker(workerSource, { eval: true, workerData: { port: port2, shared }, transferList: [port2] })
  let closed = false
  worker.on("message", onWake)
  // without a listener a worker's error would be the process's uncaught exception
  worker.on("error", () => {
    if (!closed) onFailure()
  })
  worker.on("exit", () => {
    if (!closed) onFailure()
  })
  worker.unref()
  port1.unref()
  return {
    at: (at) => {
      if (closed) return
      port1.postMessage(at)
      Atomics.store(signal, 0, 1)
      Atomics.notify(signal, 0)
    },
    close: () => {
      if (closed) return
      closed = true
      port1.close()
      void worker.terminate()
    }
  }
}
