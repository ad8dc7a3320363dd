// Reading the few pod fields the server needs from a stored pod object.
import { parseNeedPorts } from "../../auto-port/need-ports.js";
import type { Store } from "../../store/store.js";
import { podKey } from "../../store/store.js";
import { notFound } from "../http/errors.js";
import { isObject } from "./pod-annotator.js";

export interface PodFacts {
  uid?: string;
  hostIP?: string;
  deployName?: string;
  /**
   * Sum of the literal NEED_PORTS values of the pod's containers (each
   * domeize container declares its own), or undefined when none declares one.
   */
  declaredPorts?: number;
}

export async function readPodFacts(
  store: Store,
  cluster: string,
  ns: string,
  pod: string,
): Promise<PodFacts> {
  const kv = await store.get(podKey(ns, pod));
  if (!kv) throw notFound(`pod ${ns}/${pod} not found in cluster ${cluster}`);
  return podFacts(kv.value);
}

export function podFacts(json: string): PodFacts {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return {};
  }
  if (!isObject(o)) return {};
  const meta = isObject(o.metadata) ? o.metadata : {};
  const status = isObject(o.status) ? o.status : {};
  const spec = isObject(o.spec) ? o.spec : {};
  const ann = isObject(meta.annotations) ? meta.annotations : {};
  return {
    uid: str(meta.uid),
    hostIP: str(status.hostIP),
    deployName: str(ann.deployName),
    declaredPorts: declaredPorts(spec),
  };
}

/** NEED_PORTS of every (init) container with a literal value, summed. */
function declaredPorts(spec: Record<string, unknown>): number | undefined {
  let sum: number | undefined;
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isObject(c) || !Array.isArray(c.env)) continue;
      for (const e of c.env) {
        if (!isObject(e) || e.name !== "NEED_PORTS" || typeof e.value !== "string") continue;
        try {
          sum = (sum ?? 0) + parseNeedPorts(e.value).count; // "2" or "http,admin"
        } catch {
          // not a value domeize would accept: it declares nothing
        }
      }
    }
  }
  return sum;
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
