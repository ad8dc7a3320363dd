// NEED_PORTS and the names of the AUTO_PORT variables: one contract shared
// by domeize (allocates and exports), the server (checks reports, counts a
// pod's quota) and the deployment model. NEED_PORTS is a count ("2", as in
// the original) or a list of port names ("http,admin", as Marathon's
// PORT_<NAME> and Nomad's port labels): then each port is also
// AUTO_PORT_<NAME> beside its AUTO_PORT<n>.

/** A port name: Kubernetes' IANA_SVC_NAME (lower case, digits, '-', a letter, at most 15). */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;

export interface NeedPorts {
  count: number;
  /** Port names in index order; empty for a plain count. */
  names: string[];
}

/** Parse NEED_PORTS; throws an Error saying what is wrong. */
export function parseNeedPorts(raw: string, max = 65535): NeedPorts {
  if (raw === "") return { count: 0, names: [] };
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n > max) throw new Error(`expected 0..${max} or port names`);
    return { count: n, names: [] };
  }
  const names = raw.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!PORT_NAME.test(n)) {
      throw new Error(
        `${JSON.stringify(n)} is not a port name (lower-case letters, digits and '-', with a letter, at most 15), and the value is not a count`,
      );
    }
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`port name ${JSON.stringify(dup)} is given twice`);
  if (names.length > max) throw new Error(`more than ${max} port names`);
  return { count: names.length, names };
}

export function isPortName(s: string): boolean {
  return PORT_NAME.test(s);
}

/** The environment variable of a named port: http -> AUTO_PORT_HTTP, grpc-web -> AUTO_PORT_GRPC_WEB. */
export function namedPortVar(name: string): string {
  return `AUTO_PORT_${name.toUpperCase().replace(/-/g, "_")}`;
}

/** Its annotation key: the variable, with ".<container>" for a container other than the first. */
export function namedPortKey(name: string, container: string): string {
  return container === "" ? namedPortVar(name) : `${namedPortVar(name)}.${container}`;
}

/** Annotation keys of named ports: AUTO_PORT_<NAME>[.<container>]. */
export const NAMED_PORT_KEY =
  /^AUTO_PORT_([A-Z][A-Z0-9_]{0,14})(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/;
