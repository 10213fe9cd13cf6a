// The mail libraries the email adapter itself runs (imapflow, mailparser, nodemailer), loaded
// from the adapter's own dependencies: the baseline then measures exactly the versions dialogi
// uses, and the bench adds no second copy of them to the workspace.
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"

const adapterDir = new URL("../../packages/adapter-email/", import.meta.url)
const requireFromAdapter = createRequire(new URL("package.json", adapterDir))

/** Imports the ESM entry (`subpath` of its exports) of a dependency of @dialogi/adapter-email. */
const importDependency = async (name, subpath = ".") => {
  const manifestPath = requireFromAdapter.resolve(`${name}/package.json`)
  const manifest = JSON.parse(await readFile(manifestPath, "utf8"))
  const entry = manifest.exports?.[subpath]?.import
  if (typeof entry !== "string") throw new Error(`${name} has no ESM export ${subpath}`)
  return import(pathToFileURL(join(dirname(manifestPath), entry)).href)
}

/** imapflow's ImapFlow class. */
export const loadImapFlow = async () => (await importDependency("imapflow")).ImapFlow

/** mailparser's simpleParser. */
export const loadSimpleParser = async () => (await importDependency("mailparser")).simpleParser

/** nodemailer's MailComposer (builds raw MIME the way mail programs and MTAs write it). */
export const loadMailComposer = async () =>
  (await importDependency("nodemailer", "./lib/mail-composer")).default

/** The built @dialogi/adapter-email (packages/adapter-email/dist, built by `pnpm bench`). */
export const loadEmailAdapter = () => import(new URL("dist/index.js", adapterDir).href)
