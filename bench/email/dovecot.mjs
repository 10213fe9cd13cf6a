// A throwaway Dovecot for the bench: IMAP on a free loopback port, maildir in a temp dir, any
// user with password "pass". The same recipe as the adapter's test kit, written from here so
// the bench needs neither vitest nor files outside the repository.
import { execFile, spawn } from "node:child_process"
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { connect, createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

/** A free TCP port on loopback (asked from the OS, then released). */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

// Dovecot's master forks into the background and would hold a pipe open forever: no pipes.
const launch = (command, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" })
    child.once("error", reject)
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))
    )
  })

const config = ({ dir, port, internalUser, internalGroup, loginUser, mailUser, mailGroup, firstUid }) => `
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = dialogi-bench-${port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
default_internal_user = ${internalUser}
default_internal_group = ${internalGroup}
default_login_user = ${loginUser}
mail_location = maildir:${dir}/mail/%u
# A throwaway mailbox: no fsync per APPEND (only filling the backlog writes; reads are unaffected).
mail_fsync = never
mail_uid = ${mailUser}
mail_gid = ${mailGroup}
first_valid_uid = ${firstUid}
passdb {
  driver = static
  args = password=pass
}
userdb {
  driver = static
  args = uid=${mailUser} gid=${mailGroup} home=${dir}/home/%u
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`

/**
 * CPU time (ms) of the imap session processes of the Dovecot master `masterPid` alive now, from
 * /proc: the server side of a fetch, read at the end of a run while its session is still open.
 */
export const imapSessionCpuMs = async (masterPid) => {
  let ticks = 0
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
    const close = stat.lastIndexOf(")")
    if (close < 0 || !stat.slice(0, close).endsWith("(imap")) continue
    const fields = stat.slice(close + 2).split(" ")
    if (Number(fields[1]) !== masterPid) continue
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks * 10 // USER_HZ is 100 on Linux
}

const answers = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("data", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Starts Dovecot (Debian's /usr/sbin/dovecot); resolves once IMAP answers. */
export const startDovecot = async () => {
  const dir = await mkdtemp(join(tmpdir(), "dialogi-bench-dovecot-"))
  // mkdtemp makes it 0700: Dovecot's mail and login users must be able to enter it.
  await chmod(dir, 0o755)
  const port = await freePort()
  for (const sub of ["run", "state", "mail", "home"]) await mkdir(join(dir, sub))
  const me = userInfo()
  // As root Dovecot refuses to run its processes as root: use Debian's dovecot users.
  const asRoot = me.uid === 0
  if (asRoot) {
    const mail = await run("id", ["-u", "mail"]).then((r) => Number(r.stdout.trim()))
    const mailGid = await run("id", ["-g", "mail"]).then((r) => Number(r.stdout.trim()))
    await chown(join(dir, "mail"), mail, mailGid)
    await chown(join(dir, "home"), mail, mailGid)
  }
  const group = asRoot ? "root" : (await run("id", ["-gn"])).stdout.trim()
  const conf = join(dir, "dovecot.conf")
  await writeFile(
    conf,
    config({
      dir,
      port,
      internalUser: asRoot ? "dovecot" : me.username,
      internalGroup: asRoot ? "dovecot" : group,
      loginUser: asRoot ? "dovenull" : me.username,
      mailUser: asRoot ? "mail" : me.username,
      mailGroup: asRoot ? "mail" : group,
      firstUid: asRoot ? 8 : me.uid
    })
  )
  await launch("dovecot", ["-c", conf])
  for (let i = 0; i < 100 && !(await answers(port)); i++) await new Promise((r) => setTimeout(r, 100))
  const masterPid = Number((await readFile(join(dir, "run", "master.pid"), "utf8")).trim())
  return {
    dir,
    port,
    account: { host: "127.0.0.1", port, secure: false, auth: { user: "support@example.com", pass: "pass" } },
    masterPid,
    stop: async () => {
      await run("dovecot", ["-c", conf, "stop"]).catch(() => undefined)
      await new Promise((r) => setTimeout(r, 200))
      await rm(dir, { recursive: true, force: true })
    }
  }
}
