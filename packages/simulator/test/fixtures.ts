/**
 * Prompts written by hand following packages/core/PROMPT_FORMAT.md.
 */

export const system = `Your input fields are:
1. \`question\` (string): The question to answer.
2. \`mood\` (string, one of: "happy", "neutral", "upset")
Your output fields are:
1. \`reasoning\` (string): Think step by step in order to produce the outputs.
2. \`answer\` (number)
All interactions will be structured in the following way, with the appropriate values filled in.

[[ ## question ## ]]
{question}

[[ ## mood ## ]]
{mood}

[[ ## reasoning ## ]]
{reasoning}

[[ ## answer ## ]]
{answer}        # note: the value you produce must adhere to the JSON schema: {"type":"number"}

[[ ## completed ## ]]
In adhering to this structure, your objective is: 
        Answer questions with short factoid answers.`

export const instruction =
  "Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then `[[ ## answer ## ]]` (must be formatted as valid JSON), and then ending with the marker for `[[ ## completed ## ]]`."

export const userInputs = (question: string, mood: string, withInstruction = true): string =>
  `[[ ## question ## ]]\n${question}\n\n[[ ## mood ## ]]\n${mood}${withInstruction ? `\n\n${instruction}` : ""}`

export const assistantOutputs = (reasoning: string, answer: string): string =>
  `[[ ## reasoning ## ]]\n${reasoning}\n\n[[ ## answer ## ]]\n${answer}\n\n[[ ## completed ## ]]`

/** A triage signature with an enum, a tagged union and a string output. */
export const triageSystem = `Your input fields are:
1. \`request\` (string): What the customer asked.
Your output fields are:
1. \`priority\` (string, one of: "low", "high")
2. \`action\` (Action): What to do.
3. \`tags\` (array of string)
4. \`reply\` (string)
All interactions will be structured in the following way, with the appropriate values filled in.

[[ ## request ## ]]
{request}

[[ ## priority ## ]]
{priority}        # note: the value you produce must adhere to the JSON schema: {"type":"string","enum":["low","high"]}

[[ ## action ## ]]
{action}        # note: the value you produce must adhere to the JSON schema: {"anyOf":[{"type":"object","required":["_tag","text"],"properties":{"_tag":{"type":"string","enum":["Joke"]},"text":{"type":"string"}},"additionalProperties":false},{"type":"object","required":["_tag","amount"],"properties":{"_tag":{"type":"string","enum":["Refund"]},"amount":{"type":"number","minimum":0,"maximum":100}},"additionalProperties":false}]}

[[ ## tags ## ]]
{tags}        # note: the value you produce must adhere to the JSON schema: {"type":"array","items":{"type":"string"},"minItems":1}

[[ ## reply ## ]]
{reply}

[[ ## completed ## ]]
In adhering to this structure, your objective is: 
        Decide what to do for a coffee-shop customer.`

export const triageUser = (request: string): string =>
  `[[ ## request ## ]]\n${request}\n\nRespond with the corresponding output fields, starting with the field \`[[ ## priority ## ]]\`, then \`[[ ## action ## ]]\` (must be formatted as valid JSON), then \`[[ ## tags ## ]]\` (must be formatted as valid JSON), then \`[[ ## reply ## ]]\`, and then ending with the marker for \`[[ ## completed ## ]]\`.`

/** Parses a field-marker reply into its sections (test helper). */
export const sections = (text: string): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  const re = /^\[\[ ## (.+?) ## \]\]$/gm
  let m: RegExpExecArray | null
  let last: { name: string; start: number } | undefined
  while ((m = re.exec(text)) !== null) {
    if (last !== undefined) out.push([last.name, text.slice(last.start, m.index).trim()])
    last = { name: m[1] as string, start: m.index + m[0].length }
  }
  if (last !== undefined) out.push([last.name, text.slice(last.start).trim()])
  return out
}
