// The mail libraries the email adapter itself runs (imapflow, mailparser, nodemailer), loaded
// from the adapter's own dependencies: the baseline then measures exactly the versions dialogi
// uses, and the bench adds no second copy of them to the workspace.
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"

const adapterDir = new URL("../../packages/adapter-email/", import.meta.url)
const requireFromAdapter = createRequire(new URL("package.json", adapterDir))

/** The folder of a dependency of @dialogi/adapter-email (not every package exports package.json). */
const packageDir = async (name) => {
  for (let dir = dirname(requireFromAdapter.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = await readFile(join(dir, "package.json"), "utf8").then(JSON.parse, () => undefined)
    if (manifest?.name === name) return { dir, manifest }
  }
  throw new Error(`no package.json of ${name}`)
}

/** Imports the ESM entry (`subpath` of its exports) of a dependency of @dialogi/adapter-email. */
const importDependency = async (name, subpath = ".") => {
  const { dir, manifest } = await packageDir(name)
  const target = manifest.exports?.[subpath]
  const entry = typeof target === "string" ? target : (target?.import ?? target?.default)
  if (typeof entry !== "string") throw new Error(`${name} has no ESM export ${subpath}`)
  return import(pathToFileURL(join(dir, entry)).href)
}

/** imapflow's ImapFlow class. */
export const loadImapFlow = async () => (await importDependency("imapflow")).ImapFlow

/** mailparser's simpleParser. */
export const loadSimpleParser = async () => (await importDependency("mailparser")).simpleParser

/** nodemailer's MailComposer (builds raw MIME the way mail programs and MTAs write it). */
export const loadMailComposer = async () =>
  (await importDependency("nodemailer", "./lib/mail-composer")).default

/** email-reply-parser's class (the adapter's quoted-reply stripper). */
export const loadReplyParser = async () => (await importDependency("email-reply-parser")).default

/** The built @dialogi/adapter-email (packages/adapter-email/dist, built by `pnpm bench`). */
export const loadEmailAdapter = () => import(new URL("dist/index.js", adapterDir).href)
