import { defineConfig } from "tsup"

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    clean: false,
    sourcemap: true,
    target: "node22",
    external: ["@dialogi/core", "effect", "ws"]
  },
  {
    // The widget is one self-contained script tag for any host page: an IIFE, no imports.
    entry: { widget: "src/widget/widget.ts" },
    format: ["iife"],
    platform: "browser",
    target: "es2020",
    minify: true,
    clean: false,
    sourcemap: false,
    dts: false,
    outExtension: () => ({ js: ".js" })
  }
])
