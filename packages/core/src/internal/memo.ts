// Per-signature memory of derived values (compiled codecs, prompt text): signatures are
// immutable, so what is derived from one can be computed once. The memory lives on the
// signature object itself (one Map per signature, bounded by `limit`), not in module state.
const MemoId: unique symbol = Symbol.for("@effect-dspy/core/Signature/memo")

interface WithMemo {
  [MemoId]?: Map<string, unknown>
}

export const memo = <A>(owner: object, key: string, make: () => A, limit = 64): A => {
  const holder = owner as WithMemo
  let map = holder[MemoId]
  if (map === undefined) {
    map = new Map()
    Object.defineProperty(holder, MemoId, { value: map, enumerable: false })
  }
  if (map.has(key)) return map.get(key) as A
  const value = make()
  if (map.size < limit) map.set(key, value)
  return value
}
