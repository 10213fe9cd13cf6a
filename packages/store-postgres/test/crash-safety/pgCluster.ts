import { execFile, execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A throwaway PostgreSQL cluster in a temp dir, on its own port, run with Debian's binaries. */
export interface PgCluster {
  readonly dir: string
  readonly port: number
  readonly url: string
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
  readonly log: () => string
}

/** The bin directory of the newest PostgreSQL under /usr/lib/postgresql; throws when none. */
export const findPgBin = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : []
  if (versions.length === 0)
    throw new Error(
      "crash-safety test needs PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/<version>/bin; " +
        "install them, e.g. `apt-get install postgresql`"
    )
  const bin = join(root, versions[0]!, "bin")
  if (!existsSync(join(bin, "pg_ctl"))) throw new Error(`${bin}/pg_ctl is missing`)
  return bin
}

/** A free TCP port on 127.0.0.1 (never 5432: the OS hands out ephemeral ports). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

const run = (command: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Last resort of the cleanup: SIGKILL the postmaster named in postmaster.pid, if still alive. */
const killPostmaster = async (data: string) => {
  const pidFile = join(data, "postmaster.pid")
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0])
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
  process.kill(pid, "SIGKILL")
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100))
}

/**
 * initdb refuses to run as root: when we are root the binaries run as the `postgres` OS user
 * via runuser, with the temp dir owned by that user.
 */
export const startCluster = async (): Promise<PgCluster> => {
  const bin = findPgBin()
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), "dialogi-crash-"))
  const asPg = (tool: string, args: ReadonlyArray<string>) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args]) : run(join(bin, tool), args)
  try {
    if (asRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
      chownSync(dir, uid, gid)
    }
    const data = join(dir, "data")
    const logFile = join(dir, "postgres.log")
    const port = await freePort()
    await asPg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c max_connections=200`
    const ctl = (action: string, extra: ReadonlyArray<string> = []) =>
      asPg("pg_ctl", [action, "-D", data, "-l", logFile, "-w", "-t", "60", "-o", serverOptions, ...extra])
    await ctl("start")
    let stopped = false
    // A restart still running when the test fails must finish before the stop, or pg_ctl stop
    // waits for a postmaster that the restart replaces.
    let restarting: Promise<unknown> = Promise.resolve()
    return {
      dir,
      port,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      restart: async () => {
        const restart = ctl("restart", ["-m", "fast"])
        restarting = restart.catch(() => {})
        await restart
      },
      stop: async () => {
        if (stopped) return
        stopped = true
        await restarting
        try {
          await asPg("pg_ctl", ["stop", "-D", data, "-w", "-t", "30", "-m", "immediate"])
        } catch {
          // Killed below.
        } finally {
          await killPostmaster(data)
          rmSync(dir, { recursive: true, force: true })
        }
      },
      log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "")
    }
  } catch (error) {
    try {
      await asPg("pg_ctl", ["stop", "-D", join(dir, "data"), "-w", "-m", "immediate"])
    } catch {
      // not running
    }
    await killPostmaster(join(dir, "data"))
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}
