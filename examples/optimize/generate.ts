/**
 * Regenerates data/word-problems.jsonl (300 problems, 60 of each kind) from a fixed seed:
 *   pnpm exec tsx examples/optimize/generate.ts
 */
import { writeFileSync } from "node:fs"

let state = 20261122
const next = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0
  return state / 4294967296
}
const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
const between = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))

const names = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Femi", "Goro", "Hana", "Ivan", "Jia"]
const items = ["apples", "pencils", "stickers", "marbles", "cookies", "books", "cards", "shells"]

const make = {
  add: () => {
    const [a, b] = [between(2, 60), between(2, 60)]
    return { question: `${pick(names)} has ${a} ${pick(items)} and buys ${b} more. How many are there now?`, answer: a + b }
  },
  subtract: () => {
    const a = between(20, 90)
    const b = between(1, a - 1)
    return { question: `${pick(names)} had ${a} ${pick(items)} and gave away ${b}. How many are left?`, answer: a - b }
  },
  multiply: () => {
    const [a, b] = [between(2, 12), between(2, 12)]
    const item = pick(items)
    return { question: `${pick(names)} buys ${a} boxes with ${b} ${item} in each. How many ${item} are there in total?`, answer: a * b }
  },
  divide: () => {
    const b = between(2, 9)
    const a = b * between(2, 12)
    const item = pick(items)
    return { question: `${pick(names)} shares ${a} ${item} equally among ${b} friends. How many ${item} does each friend get?`, answer: a / b }
  },
  percent: () => {
    const a = 20 * between(1, 25)
    const b = pick([10, 20, 25, 50])
    return { question: `A jacket costs ${a} dollars and is ${b} percent off. How many dollars is the discount?`, answer: (a * b) / 100 }
  }
} as const

const kinds = Object.keys(make) as Array<keyof typeof make>
const rows = Array.from({ length: 300 }, (_, i) => {
  const kind = kinds[i % kinds.length]!
  return { ...make[kind](), kind }
})
// interleave deterministically so that train/dev splits see every kind
const shuffled = rows.map((row) => ({ row, key: next() })).sort((x, y) => x.key - y.key).map(({ row }) => row)
writeFileSync(new URL("./data/word-problems.jsonl", import.meta.url), shuffled.map((r) => JSON.stringify(r)).join("\n") + "\n")
console.log(`wrote ${shuffled.length} problems`)
