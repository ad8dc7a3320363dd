// Read-modify-write of a pod object with compare-and-swap, retried on
// conflict: the server merges AUTO_PORT annotations into the same key while
// the runtime updates status, and neither may lose the other's write.
import { podKey, type Store } from "../store/store.js";
import type { PodObject } from "./pod-object.js";

const MAX_ATTEMPTS = 50;

/**
 * Apply `mutate` to the stored pod and write it back if the key did not
 * change meanwhile. Returns the written pod, or null when the pod is gone
 * (deleted: nothing to update).
 */
export async function updatePod(
  store: Store,
  namespace: string,
  name: string,
  mutate: (pod: PodObject) => void,
): Promise<PodObject | null> {
  return (await updatePodAt(store, namespace, name, mutate))?.pod ?? null;
}

/** updatePod(), also giving the store revision of the write (what confd must have applied). */
export async function updatePodAt(
  store: Store,
  namespace: string,
  name: string,
  mutate: (pod: PodObject) => void,
): Promise<{ pod: PodObject; revision: number } | null> {
  const key = podKey(namespace, name);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const kv = await store.get(key);
    if (!kv) return null;
    const pod = JSON.parse(kv.value) as PodObject;
    mutate(pod);
    const res = await store.put(key, JSON.stringify(pod), { expectModRevision: kv.modRevision });
    if (res.ok) return { pod, revision: res.revision };
  }
  throw new Error(`pod ${namespace}/${name}: gave up after ${MAX_ATTEMPTS} conflicting writes`);
}

/** Create the pod key only if absent (false when it already exists). */
export async function createPod(store: Store, pod: PodObject): Promise<boolean> {
  const key = podKey(pod.metadata.namespace, pod.metadata.name);
  const res = await store.put(key, JSON.stringify(pod), { expectModRevision: 0 });
  return res.ok;
}

/** Every pod object under a namespace (or all namespaces). */
export async function listPods(store: Store, namespace?: string): Promise<PodObject[]> {
  const prefix = namespace ? `${podKey(namespace, "")}` : "/registry/pods/";
  const res = await store.list(prefix);
  const pods: PodObject[] = [];
  for (const kv of res.kvs) {
    try {
      pods.push(JSON.parse(kv.value) as PodObject);
    } catch {
      // not ours to judge: a malformed object is skipped here, confd reports it
    }
  }
  return pods;
}
