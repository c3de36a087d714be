/**
 * Bytes allocated while a function runs, garbage included: V8's sampling heap profiler (through
 * `node:inspector`) asked to keep the samples of objects that minor and major collections freed,
 * summed. CPU time on a shared machine moves with the other work on it; the bytes a workload
 * allocates do not (to within the sampling's error, about `interval` bytes per sample), so they
 * tell two versions of the same code apart where CPU figures cannot. Run it in its own pass: the
 * profiler's hooks cost CPU time of their own.
 */
import { Session } from "node:inspector"

/** A sample every `interval` bytes on average (V8's default is 32 KiB). */
const interval = 4096

interface ProfileNode {
  readonly selfSize: number
  readonly children: ReadonlyArray<ProfileNode>
}

const post = <A>(session: Session, method: string, params?: object): Promise<A> =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error: Error | null, result: unknown) => (error === null ? resolve(result as A) : reject(error)))
  )

const total = (node: ProfileNode): number => node.children.reduce((sum, child) => sum + total(child), node.selfSize)

/** Runs `run` and gives the bytes it allocated, estimated from the samples. */
export const allocatedBytes = async (run: () => Promise<unknown>): Promise<number> => {
  const session = new Session()
  session.connect()
  try {
    await post(session, "HeapProfiler.enable")
    await post(session, "HeapProfiler.startSampling", {
      samplingInterval: interval,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true
    })
    await run()
    const { profile } = await post<{ readonly profile: { readonly head: ProfileNode } }>(session, "HeapProfiler.stopSampling")
    return total(profile.head)
  } finally {
    session.disconnect()
  }
}
