import { assert, describe, it } from "@effect/vitest"
import type { Message, ParsedRequest } from "../src/Script.js"
import { makeCaches, parseRequest, parseSections, parseSystem, schemaFromLabel } from "../src/internal/answer/promptParser.js"
import { assistantOutputs, instruction, system, triageSystem, triageUser, userInputs } from "./fixtures.js"

const parse = (messages: ReadonlyArray<Message>): ParsedRequest =>
  parseRequest(messages, { route: "in-process", responseSchema: undefined, tools: [], toolChoice: { _tag: "Auto" } }, makeCaches())

describe("promptParser", () => {
  it("reads the field lists, notes and instructions of a system message", () => {
    const s = parseSystem(system)
    assert.deepStrictEqual(s.inputFields, [
      { name: "question", label: "string", description: "The question to answer." },
      { name: "mood", label: "string, one of: \"happy\", \"neutral\", \"upset\"", description: undefined }
    ])
    assert.deepStrictEqual(s.outputFields.map((f) => [f.name, f.isText, f.schema]), [
      ["reasoning", true, { type: "string", description: "Think step by step in order to produce the outputs." }],
      ["answer", false, { type: "number" }]
    ])
    assert.strictEqual(s.outputFields[0]?.description, "Think step by step in order to produce the outputs.")
    assert.strictEqual(s.instructions, "Answer questions with short factoid answers.")
  })

  it("reads one-line JSON schemas of notes, including unions", () => {
    const s = parseSystem(triageSystem)
    assert.deepStrictEqual(s.outputFields.map((f) => [f.name, f.isText]), [
      ["priority", true],
      ["action", false],
      ["tags", false],
      ["reply", true]
    ])
    assert.deepStrictEqual(s.outputFields[0]?.schema, { type: "string", enum: ["low", "high"] })
    assert.isArray(s.outputFields[1]?.schema["anyOf"])
  })

  it("infers schemas from labels when a note is missing", () => {
    assert.deepStrictEqual(schemaFromLabel("string, one of: \"a\", \"b c\""), { type: "string", enum: ["a", "b c"] })
    assert.deepStrictEqual(schemaFromLabel("int"), { type: "integer" })
    assert.deepStrictEqual(schemaFromLabel("boolean"), { type: "boolean" })
    assert.deepStrictEqual(schemaFromLabel("Foo"), { type: "string" })
  })

  it("splits sections and drops the trailing instruction line", () => {
    const s = parseSections(userInputs("What is 2+2?\nThink twice.", "happy"))
    assert.deepStrictEqual([...s.entries()], [["question", "What is 2+2?\nThink twice."], ["mood", "happy"]])
  })

  it("ignores markers that are not at the start of a line", () => {
    const s = parseSections(`[[ ## a ## ]]\nsee \`[[ ## b ## ]]\` here`)
    assert.deepStrictEqual([...s.entries()], [["a", "see `[[ ## b ## ]]` here"]])
  })

  it("parses a whole request: inputs, demos and kind", () => {
    const parsed = parse([
      { role: "system", text: system },
      { role: "user", text: userInputs("What is 1+1?", "neutral", false) },
      { role: "assistant", text: assistantOutputs("One and one make two.", "2") },
      { role: "user", text: userInputs("What is 3+3?", "upset", false) },
      { role: "assistant", text: assistantOutputs("Three doubled is six.", "6") },
      { role: "user", text: userInputs("What is 2+2?", "happy") }
    ])
    assert.strictEqual(parsed.kind, "FieldMarkers")
    assert.deepStrictEqual(parsed.inputs, { question: "What is 2+2?", mood: "happy" })
    assert.deepStrictEqual(parsed.demos, [
      { inputs: { question: "What is 1+1?", mood: "neutral" }, outputs: { reasoning: "One and one make two.", answer: "2" } },
      { inputs: { question: "What is 3+3?", mood: "upset" }, outputs: { reasoning: "Three doubled is six.", answer: "6" } }
    ])
    assert.strictEqual(parsed.isRetry, false)
    assert.strictEqual(parsed.instructions, "Answer questions with short factoid answers.")
  })

  it("recognizes a re-ask after a parse failure", () => {
    const parsed = parse([
      { role: "system", text: system },
      { role: "user", text: userInputs("What is 2+2?", "happy") },
      { role: "assistant", text: "four" },
      { role: "user", text: `Your previous reply could not be parsed: missing field answer.\n\n${instruction}` }
    ])
    assert.strictEqual(parsed.isRetry, true)
    assert.deepStrictEqual(parsed.inputs, { question: "What is 2+2?", mood: "happy" })
    assert.deepStrictEqual(parsed.demos, [])
    assert.strictEqual(parsed.kind, "FieldMarkers")
  })

  it("reads output fields from the instruction line alone", () => {
    const parsed = parse([{ role: "user", text: triageUser("My latte is cold") }])
    assert.deepStrictEqual(parsed.outputFields.map((f) => [f.name, f.isText]), [
      ["priority", true],
      ["action", false],
      ["tags", false],
      ["reply", true]
    ])
    assert.deepStrictEqual(parsed.inputs, { request: "My latte is cold" })
  })

  it("treats anything else as a plain prompt", () => {
    const parsed = parse([{ role: "system", text: "You are terse." }, { role: "user", text: "Hi there" }])
    assert.strictEqual(parsed.kind, "Plain")
    assert.strictEqual(parsed.lastUserText, "Hi there")
    assert.deepStrictEqual(parsed.outputFields, [])
  })

  it("reads JSON-object demos", () => {
    const parsed = parse([
      { role: "system", text: system },
      { role: "user", text: userInputs("What is 1+1?", "neutral", false) },
      { role: "assistant", text: `{"reasoning":"Easy.","answer":2}` },
      { role: "user", text: userInputs("What is 2+2?", "happy") }
    ])
    assert.deepStrictEqual(parsed.demos, [{ inputs: { question: "What is 1+1?", mood: "neutral" }, outputs: { reasoning: "Easy.", answer: "2" } }])
  })

  it("detects a JSON-adapter prompt", () => {
    const jsonSystem = system.replace(/All interactions[\s\S]*In adhering/, "Answer with one JSON object whose keys are the output fields.\nIn adhering")
    const parsed = parse([
      { role: "system", text: jsonSystem },
      { role: "user", text: `[[ ## question ## ]]\nWhy?\n\n[[ ## mood ## ]]\nhappy\n\nRespond with a JSON object with keys reasoning, answer.` }
    ])
    assert.strictEqual(parsed.kind, "JsonFields")
    assert.deepStrictEqual(parsed.inputs, { question: "Why?", mood: "happy" })
  })
})
