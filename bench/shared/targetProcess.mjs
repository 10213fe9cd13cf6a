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
