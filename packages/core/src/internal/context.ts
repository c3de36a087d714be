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
