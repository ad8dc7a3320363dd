// File mode of a resource. confd parses `mode` with strconv.ParseUint(s, 0,
// 32), so "644" is decimal 644 (= 0o1204, i.e. -r---w--r-T). Everybody means
// octal: here a bare number is octal, prefixes 0o / 0x / 0b work as in Go.

export function parseMode(text: string): number {
  const s = text.trim().replaceAll("_", "");
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^0[bB][01]+$/.test(s)) v = Number.parseInt(s.slice(2), 2);
  else if (/^0[oO][0-7]+$/.test(s)) v = Number.parseInt(s.slice(2), 8);
  else if (/^[0-7]+$/.test(s)) v = Number.parseInt(s, 8);
  else
    throw new Error(
      `invalid mode ${JSON.stringify(text)}: expected an octal file mode such as "0644"`,
    );
  if (v > 0o7777) throw new Error(`invalid mode ${JSON.stringify(text)}: larger than 07777`);
  return v;
}

export function formatMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;
}
