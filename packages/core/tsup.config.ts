import { defineConfig } from "tsup"

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "testing/index": "src/testing/index.ts",
    // The test channel without the vitest suites, for demo apps and test processes.
    "testing/TestChannelAdapter": "src/testing/TestChannelAdapter.ts"
  },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node22",
  external: ["vitest"]
})
