import { fork } from "node:child_process"

/**
 * Runs one bench target in its own Node process, so that its peak RSS and its CPU profile are
 * its own. The target reads its settings from BENCH_TARGET and reports one result over IPC;
 * a process that dies without reporting becomes an error result instead of hanging the bench.
 */
export const runTargetProcess = (moduleUrl, settings) =>
  new Promise((resolve) => {
    const execArgv = process.env.BENCH_CPU_PROF === "1" ? ["--cpu-prof", "--cpu-prof-dir=bench/.prof"] : []
    const child = fork(moduleUrl, [], {
      env: { ...process.env, BENCH_TARGET: JSON.stringify(settings) },
      execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    let result
    child.on("message", (m) => {
      result = m
    })
    child.on("exit", (code) =>
      resolve(result ?? { target: settings.target, error: `target process exited with code ${code}` })
    )
  })

/**
 * Parses a bench's arguments: the options, or the exit code after printing the usage (2 for
 * bad arguments, 0 for --help).
 */
export const parseCli = (argv, parse, usage) => {
  let options
  try {
    options = parse(argv)
  } catch (error) {
    console.error(`${error.message}\n${usage}`)
    return { exitCode: 2 }
  }
  if (options.help) {
    console.log(usage)
    return { exitCode: 0 }
  }
  return { options }
}

/** A number for a results table; "-" where there is none. */
export const fmt = (x, digits = 0) => (x === undefined || x === null ? "-" : Number(x).toFixed(digits))

/** Reads integer options of parsed `values`: `int("n", 1)` throws a usage error below `min`. */
export const intReader = (values) => (name, min) => {
  const v = Number(values[name])
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}`)
  return v
}

/** The comma-separated `--targets`, each one of `known`. */
export const targetList = (value, known) => {
  const targets = value.split(",").map((t) => t.trim())
  for (const t of targets) if (!known.includes(t)) throw new Error(`unknown target ${t}`)
  return targets
}
