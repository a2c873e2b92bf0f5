// Starts the real lethe binary on a loopback port for a test (init, then serve), and stops it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface RunningServer {
  baseUrl: string;
  adminToken: string;
  logFile: string;
  stop(): Promise<void>;
}

// The child's environment without LETHE_* settings, so an operator's config cannot leak in.
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("LETHE_") && k !== "VAULT_ROOT_KEY") env[k] = v;
  }
  return env;
}

function init(bin: string, dataDir: string): string {
  const r = spawnSync(bin, ["init", "--data-dir", dataDir, "--json"], { encoding: "utf8", env: cleanEnv() });
  if (r.status !== 0) throw new Error(`init exited ${String(r.status)}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { admin_token?: unknown };
  if (typeof out.admin_token !== "string") throw new Error("init --json printed no admin_token");
  return out.admin_token;
}

async function waitForPort(child: ChildProcess, portFile: string, logFile: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`serve exited early: ${readFileSync(logFile, "utf8")}`);
    }
    let text = "";
    try {
      text = readFileSync(portFile, "utf8").trim();
    } catch {
      // not written yet
    }
    if (/^[0-9]+$/.test(text)) return Number(text);
    await sleep(50);
  }
  throw new Error("serve did not write its port file within 10 s");
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs `init` and `serve --listen 127.0.0.1:0` in a fresh temporary directory. */
export async function startServer(bin: string): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), "lethe-client-test-"));
  const dataDir = join(dir, "data");
  const portFile = join(dir, "port");
  const logFile = join(dir, "server.log");
  const adminToken = init(bin, dataDir);
  const log = openSync(logFile, "w");
  const child = spawn(
    bin,
    ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--port-file", portFile, "--sweep-interval", "0"],
    { stdio: ["ignore", log, log], env: cleanEnv() },
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    await stopChild(child);
    process.removeListener("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await waitForPort(child, portFile, logFile);
    return { baseUrl: `http://127.0.0.1:${port}`, adminToken, logFile, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
