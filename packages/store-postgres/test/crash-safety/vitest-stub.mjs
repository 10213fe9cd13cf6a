// Stands in for "vitest" in hub-process.mjs, which imports @dialogi/core/testing outside a test
// runner. Only module-level references must resolve; calling any of these is a mistake.
const unavailable = (name) => () => {
  throw new Error(`vitest.${name} is not available in the hub process`)
}
export const describe = unavailable("describe")
export const it = unavailable("it")
export const test = unavailable("test")
export const expect = unavailable("expect")
export const beforeAll = unavailable("beforeAll")
export const afterAll = unavailable("afterAll")
export const beforeEach = unavailable("beforeEach")
export const afterEach = unavailable("afterEach")
export const vi = {}
