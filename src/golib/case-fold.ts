// Unicode simple case folding orbits, as Go's (?i) uses them (unicode.SimpleFold):
// 'k' matches 'K' and the Kelvin sign U+212A, 's' matches 'ſ' U+017F. Built
// once, on first use, by joining every code point with its one-character
// lower and upper case (JavaScript's case mapping tables).

const LIMIT = 0x20000; // every cased letter Unicode defines is below this

let orbits: Map<number, number[]> | null = null;

function build(): Map<number, number[]> {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let root = x;
    for (let p = parent.get(root); p !== undefined && p !== root; p = parent.get(root)) root = p;
    parent.set(x, root);
    return root;
  };
  const join = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  for (let c = 0; c < LIMIT; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const ch = String.fromCodePoint(c);
    for (const m of [ch.toLowerCase(), ch.toUpperCase()]) {
      const cp = m.codePointAt(0) as number;
      if (m.length === String.fromCodePoint(cp).length && cp !== c) join(c, cp);
    }
  }
  const out = new Map<number, number[]>();
  for (const c of parent.keys()) {
    const root = find(c);
    let orbit = out.get(root);
    if (orbit === undefined) {
      orbit = [];
      out.set(root, orbit);
    }
    orbit.push(c);
  }
  const byMember = new Map<number, number[]>();
  for (const orbit of out.values()) {
    if (orbit.length < 2) continue;
    orbit.sort((a, b) => a - b);
    for (const c of orbit) byMember.set(c, orbit);
  }
  return byMember;
}

/** Every code point that folds to the same as c (c itself included). */
export function foldOrbit(c: number): readonly number[] {
  orbits ??= build();
  return orbits.get(c) ?? [c];
}

/** Every code point whose orbit has more than one member (the cased ones). */
export function casedCodePoints(): IterableIterator<number> {
  orbits ??= build();
  return orbits.keys();
}
