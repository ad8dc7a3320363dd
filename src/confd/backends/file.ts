// confd's `file` backend: YAML (and JSON, a YAML subset) files flattened to
// keys as confd does. `-file` is repeatable and may name directories (files
// in them are read recursively when their base name matches `-filter`).
// With watch on, the files' directories are watched: a change re-reads the
// files and reports exactly the keys that differ. A file that fails to parse
// keeps the last good view (and says so in the log and status) instead of
// emptying it.

import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { compileMatch } from "../../golib/path.js";
import type { Backend, BackendOptions, BackendStatus, ChangeListener, KVView } from "./backend.js";
import { MapView } from "./backend.js";
import { flattenInto } from "./flatten.js";

// yaml (72 modules) loads on the first file read, not with every backend.
const require = createRequire(import.meta.url);
let yaml: typeof import("yaml") | undefined;
function parseYaml(text: string): unknown {
  yaml ??= require("yaml") as typeof import("yaml");
  // YAML 1.1 like confd's gopkg.in/yaml.v2 (yes/no are booleans).
  return yaml.parse(text, { version: "1.1", intAsBigInt: true, uniqueKeys: false });
}

export class FileBackendError extends Error {
  override name = "FileBackendError";
}

export interface FileBackendOptions {
  files: string[];
  filter?: string;
  watch?: boolean;
  log?: BackendOptions["log"];
  /** Delay after a file event before re-reading (editors write in several steps). */
  debounceMs?: number;
}

/** Reads and flattens every file; throws FileBackendError naming the file (and line). */
export function loadFiles(files: string[], filter = "*"): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of expandFiles(files, filter)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new FileBackendError(`file backend: cannot read ${file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new FileBackendError(
        `file backend: cannot parse ${file}: ${(err as Error).message.split("\n")[0]}`,
      );
    }
    flattenInto(doc, "/", out);
  }
  return out;
}

function expandFiles(files: string[], filter: string): string[] {
  const re = compileMatch(filter);
  const out: string[] = [];
  for (const f of files) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(f);
    } catch (err) {
      throw new FileBackendError(
        `file backend: ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    if (!st.isDirectory()) {
      out.push(f);
      continue;
    }
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : 1,
      )) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (re.test(e.name)) out.push(p);
      }
    };
    walk(f);
  }
  return out;
}

export class FileBackend implements Backend {
  readonly name = "file";
  private view_ = new MapView(new Map());
  private readonly listeners: ChangeListener[] = [];
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private state: BackendStatus = { connected: false };

  constructor(private readonly opts: FileBackendOptions) {
    if (opts.files.length === 0) throw new FileBackendError("file backend: no -file given");
  }

  async start(_prefixes: string[]): Promise<void> {
    this.view_ = new MapView(loadFiles(this.opts.files, this.opts.filter));
    this.state = { connected: true, since: Date.now() };
    if (this.opts.watch) this.watchFiles();
  }

  view(): KVView {
    return this.view_;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  status(): BackendStatus {
    return { ...this.state };
  }

  async close(): Promise<void> {
    for (const w of this.watchers.splice(0)) w.close();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Re-read now; returns the changed keys (exposed for tests and interval mode). */
  reload(): string[] {
    let next: Map<string, string>;
    try {
      next = loadFiles(this.opts.files, this.opts.filter);
    } catch (err) {
      const msg = (err as Error).message;
      this.opts.log?.("error", `${msg} (keeping the previous data)`);
      this.state = { ...this.state, lastError: msg };
      return [];
    }
    const prev = this.view_.map;
    const changed: string[] = [];
    for (const [k, v] of next) if (prev.get(k) !== v) changed.push(k);
    for (const k of prev.keys()) if (!next.has(k)) changed.push(k);
    this.view_ = new MapView(next);
    this.state = { connected: true, since: this.state.since ?? Date.now() };
    if (changed.length > 0) for (const l of this.listeners) l(changed);
    return changed;
  }

  private watchFiles(): void {
    const dirs = new Set<string>();
    for (const f of this.opts.files) {
      const abs = resolve(f);
      const isDir = statSync(abs).isDirectory();
      dirs.add(isDir ? abs : dirname(abs));
    }
    const names = new Set(this.opts.files.map((f) => basename(f)));
    for (const d of dirs) {
      const w = watch(d, { recursive: false }, (_event, name) => {
        // Files given directly: react to their own names only; directories: anything.
        if (name && !names.has(String(name)) && !this.opts.files.some((f) => resolve(f) === d))
          return;
        this.schedule();
      });
      this.watchers.push(w);
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload();
    }, this.opts.debounceMs ?? 50);
  }
}
