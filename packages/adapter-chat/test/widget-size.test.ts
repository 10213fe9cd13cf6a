import { readFileSync } from "node:fs"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"

describe("widget bundle", () => {
  it("is one self-contained script of at most 25 KB gzipped", () => {
    // The shipped artifact is measured (built by `pnpm build`, which the root test runs first).
    const bundle = readFileSync(new URL("../dist/widget.js", import.meta.url))
    const gzipped = gzipSync(bundle, { level: 9 }).length
    console.info(`[dialogi/chat] widget.js ${bundle.length} bytes, ${gzipped} bytes gzipped`)
    expect(gzipped).toBeLessThanOrEqual(25 * 1024)
    // An IIFE with no module syntax: a plain <script src> works on any page.
    const text = bundle.toString("utf8")
    expect(text).not.toMatch(/^\s*(import|export)\s/m)
    expect(text).not.toMatch(/\brequire\(/)
  })
})
