import * as Context from "effect/Context"

/**
 * `context` with one or two more services, copying its map once (`Context.add` twice
 * would copy it twice). Hot path: every module and LM call provides its span this way.
 */
export const withServices: {
  <R, I1, S1>(context: Context.Context<R>, tag1: Context.Tag<I1, S1>, service1: S1): Context.Context<R | I1>
  <R, I1, S1, I2, S2>(
    context: Context.Context<R>,
    tag1: Context.Tag<I1, S1>,
    service1: S1,
    tag2: Context.Tag<I2, S2>,
    service2: S2
  ): Context.Context<R | I1 | I2>
} = <R, I1, S1, I2, S2>(
  context: Context.Context<R>,
  tag1: Context.Tag<I1, S1>,
  service1: S1,
  tag2?: Context.Tag<I2, S2>,
  service2?: S2
): Context.Context<R | I1 | I2> => {
  const map = new Map(context.unsafeMap)
  map.set(tag1.key, service1)
  if (tag2 !== undefined) map.set(tag2.key, service2)
  return Context.unsafeMake(map)
}

/**
 * A reader of a `Context.Reference`: its value in a context, else its default. What
 * `Context.get` does for a reference, without its per-call `in` check of the tag's
 * prototype chain and default-value cache lookup (it showed as several percent of a
 * prediction's CPU, at a dozen reads per prediction). The default is read once, through
 * `Context.get`, so it is the same value Effect hands out.
 */
export const referenceReader = <I, S>(tag: Context.Reference<I, S>): (context: Context.Context<never>) => S => {
  const key = tag.key
  const fallback = Context.get(Context.empty(), tag)
  return (context) => {
    const map = context.unsafeMap
    const value: S | undefined = map.get(key)
    return value !== undefined || map.has(key) ? value as S : fallback
  }
}
