// confd's string and path functions: Go's strings/path/strconv from
// src/golib, base64 here (Go's decoder errors), strconv's errors as Go prints them.

import { base, dir } from "../../golib/path.js";
import { atoi, parseBool } from "../../golib/strconv.js";
import { replace, split, toLower, toUpper, trimSuffix } from "../../golib/strings.js";
import { FuncError, type FuncMap, goFunc, typedList } from "../../gotemplate/value.js";

/** base64.StdEncoding.DecodeString, with Go's "illegal base64 data at input byte N". */
export function goBase64Decode(s: string): string {
  const alphabet = /[A-Za-z0-9+/]/;
  let i = 0;
  const withoutNewlines = s.replace(/[\r\n]/g, "");
  for (; i < withoutNewlines.length; i++) {
    if (!alphabet.test(withoutNewlines[i])) break;
  }
  const dataLen = i;
  let pad = 0;
  while (i < withoutNewlines.length && withoutNewlines[i] === "=") {
    pad++;
    i++;
  }
  const valid =
    i === withoutNewlines.length &&
    (pad === 0 ? dataLen % 4 === 0 : (dataLen + pad) % 4 === 0 && pad <= 2 && dataLen % 4 >= 2);
  if (!valid) {
    // Go reports the offset of the first offending quantum; this is the common case.
    const at =
      i < withoutNewlines.length ? i : Math.floor(dataLen / 4) * 4 + (pad > 0 ? dataLen % 4 : 0);
    throw new FuncError(`illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(withoutNewlines, "base64").toString("utf8");
}

export function stringFuncs(): FuncMap {
  return {
    base: goFunc(["string"], (p: string) => base(p)),
    dir: goFunc(["string"], (p: string) => dir(p)),
    split: goFunc(["string", "string"], (s: string, sep: string) =>
      typedList("[]string", split(s, sep)),
    ),
    join: goFunc(["[]string", "string"], (items: string[], sep: string) => items.join(sep)),
    toUpper: goFunc(["string"], toUpper),
    toLower: goFunc(["string"], toLower),
    contains: goFunc(["string", "string"], (s: string, sub: string) => s.includes(sub)),
    replace: goFunc(["string", "string", "string", "int"], replace),
    trimSuffix: goFunc(["string", "string"], trimSuffix),
    base64Encode: goFunc(["string"], (s: string) => Buffer.from(s, "utf8").toString("base64")),
    base64Decode: goFunc(["string"], goBase64Decode),
    parseBool: goFunc(["string"], parseBool),
    atoi: goFunc(["string"], atoi),
  };
}
