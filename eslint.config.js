import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "packages/*/docs/**", "bench-results/**", "examples/chat-server/public/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // plain Node scripts (packaging, the pack test, the workspace bin)
    files: ["scripts/**/*.mjs", "test/**/*.mjs", "packages/*/dev/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } }
  },
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "require-yield": "off",
      "no-console": "off"
    }
  }
)
