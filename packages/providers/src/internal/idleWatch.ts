/**
 * A running idle deadline, kept with plain timers rather than a fiber: see `streamDeadline.ts`
 * for why a streamed attempt's deadline is enforced where its stream waits.
 *
 * @internal
 */

/**
 * `touch` on activity; when `millis` pass without any, `onExpire` runs once (from a timer) and
 * `expired` turns true. One timer per stream, re-armed for the time left when it fires early, so
 * activity costs a clock read and no timer call.
 *
 * Only the stream's own waits count: between `pause` and `resume` (a part handed downstream and
 * not yet taken, a full buffer) the wait is the consumer's, not the server's, and the deadline is
 * the longest wait for the next part, so no time passes for it.
 *
 * @internal
 */
export class IdleWatch {
  private readonly millis: number
  private readonly onExpire: () => void
  private last = performance.now()
  private timer: ReturnType<typeof setTimeout> | undefined
  private paused = false
  private stopped = false
  expired = false

  constructor(millis: number, onExpire: () => void) {
    this.millis = millis
    this.onExpire = onExpire
    this.timer = setTimeout(this.check, millis)
  }

  touch(): void {
    this.last = performance.now()
  }

  /** Stops the clock until `resume` (the wait is on the consumer). */
  pause(): void {
    this.paused = true
  }

  /** Restarts the clock from now, with the whole `millis` ahead. */
  resume(): void {
    this.paused = false
    this.last = performance.now()
    if (this.timer === undefined && !this.stopped && !this.expired) this.timer = setTimeout(this.check, this.millis)
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private readonly check = (): void => {
    // Paused: no timer until `resume` arms a fresh one.
    if (this.paused) {
      this.timer = undefined
      return
    }
    const idle = performance.now() - this.last
    if (idle < this.millis) {
      this.timer = setTimeout(this.check, this.millis - idle)
      return
    }
    this.timer = undefined
    this.expired = true
    this.onExpire()
  }
}
