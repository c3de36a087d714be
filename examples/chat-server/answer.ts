/** A scripted answer of `n` words (the simulator streams one token per word). */
export const answerOf = (n: number): string =>
  Array.from({ length: n }, (_, i) => (i % 12 === 11 ? "streaming." : ["Tokens", "arrive", "one", "by", "one"][i % 5]!))
    .join(" ")
