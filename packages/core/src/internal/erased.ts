import type * as Schema from "effect/Schema"

/** A signature-side struct schema seen as plain records. */
export type Erased = Schema.Schema<Record<string, unknown>, Record<string, unknown>, never>

// Signature fields are declared with precise types; the adapters and Predict work on them as
// records. Signature fields must not require services (documented on Signature.make).
export const erase = (schema: Schema.Schema.All): Erased => schema as unknown as Erased
