// *** FAKE *** apiserver's patch rules (fake-apiserver.ts, fake-apps.ts):
// JSON merge patch (RFC 7386), strategic merge patch (maps as merge patch,
// lists with a patchMergeKey merged by it), JSON patch (RFC 6902).

type Json = Record<string, unknown>;

export const PATCH_TYPES = new Set([
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/json-patch+json",
]);

export class PatchTestFailed extends Error {}

export function applyPatch(type: string, target: Json, patch: unknown): Json {
  if (type === "application/json-patch+json") return jsonPatch(target, patch);
  if (typeof patch !== "object" || patch === null || Array.isArray(patch))
    throw new Error("a merge patch must be a JSON object");
  return (
    type === "application/strategic-merge-patch+json"
      ? strategicMerge(target, patch, "")
      : mergePatch(target, patch)
  ) as Json;
}

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out = (
    typeof target === "object" && target !== null && !Array.isArray(target) ? target : {}
  ) as Json;
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The pod fields whose lists merge by a key in a strategic merge patch (patchMergeKey). */
const POD_MERGE_KEYS: Record<string, string> = {
  ".spec.containers": "name",
  ".spec.initContainers": "name",
  ".spec.volumes": "name",
  ".spec.containers.env": "name",
  ".spec.containers.volumeMounts": "mountPath",
  ".spec.containers.ports": "containerPort",
  ".status.conditions": "type",
};
/** The same for a pod, and for the pod template of a Deployment or ReplicaSet (.spec.template.spec...). */
const MERGE_KEYS: Record<string, string> = {
  ...POD_MERGE_KEYS,
  ...Object.fromEntries(
    Object.entries(POD_MERGE_KEYS)
      .filter(([k]) => k.startsWith(".spec."))
      .map(([k, v]) => [`.spec.template${k}`, v]),
  ),
};

function strategicMerge(target: unknown, patch: unknown, path: string): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[path];
    if (!key || !Array.isArray(target)) return patch;
    const out = [...target] as Json[];
    for (const item of patch as Json[]) {
      const i = out.findIndex((t) => t[key] === item[key]);
      if (item.$patch === "delete") {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = strategicMerge(out[i], item, path) as Json;
      else out.push(item);
    }
    return out;
  }
  if (typeof patch !== "object" || patch === null) return patch;
  const out = (
    typeof target === "object" && target !== null && !Array.isArray(target) ? target : {}
  ) as Json;
  for (const [k, v] of Object.entries(patch as Json)) {
    if (k === "$patch") continue;
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k], v, `${path}.${k}`);
  }
  return out;
}

/** RFC 6902: add, remove, replace, test (what clients send to pods). */
function jsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new Error("a JSON patch must be an array of operations");
  for (const op of ops as Json[]) {
    const parts = String(op.path)
      .split("/")
      .slice(1)
      .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = parts.pop();
    if (last === undefined) throw new Error(`JSON patch: bad path ${JSON.stringify(op.path)}`);
    let parent: unknown = target;
    for (const p of parts) parent = (parent as Json | undefined)?.[p];
    if (typeof parent !== "object" || parent === null)
      throw new Error(`JSON patch: path ${JSON.stringify(op.path)} does not exist`);
    const obj = parent as Json;
    switch (op.op) {
      case "add":
      case "replace":
        if (op.op === "replace" && !(last in obj))
          throw new Error(`JSON patch: replace of missing ${JSON.stringify(op.path)}`);
        obj[last] = op.value;
        break;
      case "remove":
        if (!(last in obj))
          throw new Error(`JSON patch: remove of missing ${JSON.stringify(op.path)}`);
        delete obj[last];
        break;
      case "test":
        if (JSON.stringify(obj[last]) !== JSON.stringify(op.value))
          throw new PatchTestFailed(`JSON patch: test failed at ${JSON.stringify(op.path)}`);
        break;
      default:
        throw new Error(`JSON patch: unsupported op ${JSON.stringify(op.op)}`);
    }
  }
  return target;
}
