import { defineConfig } from "vitest/config"

// Only run our wrapper; never pick up test files shipped inside node_modules.
export default defineConfig({
  test: {
    include: ["conformance.test.mjs"],
    exclude: ["**/node_modules/**"],
    passWithNoTests: false,
  },
})
