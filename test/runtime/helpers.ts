// Shared helpers for the runtime tests: a fresh embedded store in a temp dir,
// a runtime on it, and polling (no fixed sleeps: the machine is loaded).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PodObject } from "../../src/runtime/pod-object.js";
import { listPods } from "../../src/runtime/pod-writer.js";
import {
  StandaloneRuntime,
  type StandaloneRuntimeOptions,
} from "../../src/runtime/standalone-runtime.js";
import type { RuntimeDeployment } from "../../src/runtime/types.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { until } from "../support/poll.js";

/** Poll `fn` every 50 ms until it gives a truthy value (a throw is retried, and named on timeout). */
export function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
): Promise<T> {
  return until(what, fn, { timeoutMs, intervalMs: 50, retryThrows: true }) as Promise<T>;
}

export interface Harness {
  dir: string;
  store: EmbeddedStore;
  runtime: StandaloneRuntime;
  newRuntime(extra?: Partial<StandaloneRuntimeOptions>): StandaloneRuntime;
  pods(deploy: string): Promise<PodObject[]>;
  cleanup(): Promise<void>;
}

/**
 * The runtime with `/usr/bin/env` standing in for domeize: it runs the
 * command with the given environment, which is all the supervisor relies on
 * (domeize itself is exercised by the end-to-end tests).
 */
export function harness(extra: Partial<StandaloneRuntimeOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), "runtime-test-"));
  const store = new EmbeddedStore(join(dir, "store"), { synchronous: "normal", pollMs: 50 });
  const runtimes: StandaloneRuntime[] = [];
  const newRuntime = (more: Partial<StandaloneRuntimeOptions> = {}) => {
    const r = new StandaloneRuntime({
      store,
      dataDir: dir,
      serverAddr: "http://127.0.0.1:9",
      clusterName: "local",
      mintToken: (c, ns, p) => `token-${c}-${ns}-${p}`,
      domeizeBin: "/usr/bin/env",
      backoff: { initialMs: 100, maxMs: 400, factor: 2, resetAfterMs: 10_000 },
      graceMs: 1500,
      drain: { delayMs: 50 },
      ...extra,
      ...more,
    });
    runtimes.push(r);
    return r;
  };
  const runtime = newRuntime();
  return {
    dir,
    store,
    runtime,
    newRuntime,
    pods: async (deploy) =>
      (await listPods(store, "default")).filter(
        (p) => p.metadata.annotations.deployName === deploy,
      ),
    cleanup: async () => {
      for (const r of runtimes) await r.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function deployment(over: Partial<RuntimeDeployment>): RuntimeDeployment {
  return {
    name: "web",
    namespace: "default",
    replicas: 1,
    command: ["sleep", "600"],
    networkMode: "HOST",
    ports: 0,
    templates: [],
    accessType: "DIY",
    ...over,
  };
}

/** Is a process alive? */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
