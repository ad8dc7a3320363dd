// Reading the few pod fields the server needs from a stored pod object.
import type { Store } from "../../store/store.js";
import { podKey } from "../../store/store.js";
import { notFound } from "../http/errors.js";
import { isObject } from "./pod-annotator.js";

export interface PodFacts {
  uid?: string;
  hostIP?: string;
  deployName?: string;
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
  const ann = isObject(meta.annotations) ? meta.annotations : {};
  return {
    uid: str(meta.uid),
    hostIP: str(status.hostIP),
    deployName: str(ann.deployName),
  };
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
