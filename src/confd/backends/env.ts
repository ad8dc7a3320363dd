// confd's `env` backend: environment variables as keys. As in confd, a
// variable FOO_BAR_BAZ is the key /foo/bar/baz (lower-cased, "_" -> "/"),
// and the variables are read once (the environment of a running process
// does not change).

import type { Backend, BackendStatus, ChangeListener, KVView } from "./backend.js";
import { MapView } from "./backend.js";

/** confd's env key mapping: FOO_BAR -> /foo/bar. */
export function envKey(name: string): string {
  return `/${name}`.toLowerCase().replaceAll("_", "/");
}

export class EnvBackend implements Backend {
  readonly name = "env";
  private view_ = new MapView(new Map());
  private since = 0;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async start(_prefixes: string[]): Promise<void> {
    const map = new Map<string, string>();
    // Sorted so that two variables mapping to one key resolve deterministically.
    for (const name of Object.keys(this.env).sort()) {
      const v = this.env[name];
      if (v !== undefined) map.set(envKey(name), v);
    }
    this.view_ = new MapView(map);
    this.since = Date.now();
  }

  view(): KVView {
    return this.view_;
  }

  onChange(_listener: ChangeListener): void {
    // The environment never changes after start.
  }

  status(): BackendStatus {
    return { connected: true, since: this.since };
  }

  async close(): Promise<void> {}
}
