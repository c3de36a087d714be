import type { FieldInfo } from "./fieldInfo.js"

// Text shared by the chat and JSON adapters; the exact wording is documented in PROMPT_FORMAT.md.

const describeField = (field: FieldInfo, index: number): string => {
  const description = field.description === undefined ? "" : `: ${field.description}`
  const optional = field.optional ? ", optional" : ""
  return `${index + 1}. \`${field.name}\` (${field.typeLabel}${optional})${description}`
}

/** "Your input fields are: … Your output fields are: …" */
export const fieldDescriptions = (
  inputs: ReadonlyArray<FieldInfo>,
  outputs: ReadonlyArray<FieldInfo>
): string => {
  const lines: Array<string> = []
  if (inputs.length > 0) {
    lines.push("Your input fields are:")
    inputs.forEach((f, i) => lines.push(describeField(f, i)))
  }
  lines.push("Your output fields are:")
  outputs.forEach((f, i) => lines.push(describeField(f, i)))
  return lines.join("\n")
}

/** The closing objective paragraph, with the (possibly hinted) instructions. */
export const objective = (instructions: string): string =>
  `In adhering to this structure, your objective is: \n        ${instructions.split("\n").join("\n        ")}`

/** `[[ ## name ## ]]` */
export const marker = (name: string): string => `[[ ## ${name} ## ]]`
