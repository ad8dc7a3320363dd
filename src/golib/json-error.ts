// Go's encoding/json syntax error messages. JSON.parse's messages differ by
// engine version; confd users see Go's ("invalid character 'a' looking for
// beginning of value"), so failed decodes are re-scanned with a small port of
// Go's scanner (encoding/json/scanner.go) to produce the same text.

type Step = (c: number) => string | null;

/** Returns Go's message for invalid JSON text (call only after JSON.parse failed). */
export function goJsonSyntaxError(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  const s = new Scanner();
  for (const c of bytes) {
    const err = s.step(c);
    if (err) return err;
  }
  return s.eof() ?? "unexpected end of JSON input";
}

function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const named: Record<number, string> = {
    7: "\\a",
    8: "\\b",
    12: "\\f",
    10: "\\n",
    13: "\\r",
    9: "\\t",
    11: "\\v",
    92: "\\\\",
  };
  if (named[c]) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  if (c >= 0x80 && c < 0xa0) return `'\\u00${c.toString(16)}'`;
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

const PARSE_OBJECT_KEY = 0;
const PARSE_OBJECT_VALUE = 1;
const PARSE_ARRAY_VALUE = 2;

class Scanner {
  private parse: number[] = [];
  private done = false;
  step: Step = (c) => this.beginValue(c);

  private err(c: number, context: string): string {
    return `invalid character ${quoteChar(c)} ${context}`;
  }

  eof(): string | null {
    if (this.done) return null;
    // A number at top level ends at EOF.
    if (this.parse.length === 0 && this.step(0x20) === null && this.done) return null;
    return "unexpected end of JSON input";
  }

  private beginValue(c: number): string | null {
    if (isSpace(c)) return null;
    switch (c) {
      case 0x7b: // {
        this.step = (d) => this.beginStringOrEmpty(d);
        this.parse.push(PARSE_OBJECT_KEY);
        return null;
      case 0x5b: // [
        this.step = (d) => this.beginValueOrEmpty(d);
        this.parse.push(PARSE_ARRAY_VALUE);
        return null;
      case 0x22:
        this.step = (d) => this.inString(d);
        return null;
      case 0x2d: // -
        this.step = (d) => this.neg(d);
        return null;
      case 0x30:
        this.step = (d) => this.zero(d);
        return null;
      case 0x74:
        return this.literal("true", 1);
      case 0x66:
        return this.literal("false", 1);
      case 0x6e:
        return this.literal("null", 1);
    }
    if (c >= 0x31 && c <= 0x39) {
      this.step = (d) => this.one(d);
      return null;
    }
    return this.err(c, "looking for beginning of value");
  }

  private literal(word: string, i: number): null {
    this.step = (d) => {
      if (d === word.charCodeAt(i)) {
        if (i + 1 === word.length) this.step = (e) => this.endValue(e);
        else this.literal(word, i + 1);
        return null;
      }
      return this.err(d, `in literal ${word} (expecting ${quoteChar(word.charCodeAt(i))})`);
    };
    return null;
  }

  private beginValueOrEmpty(c: number): string | null {
    if (isSpace(c)) return null;
    if (c === 0x5d) return this.endValue(c);
    return this.beginValue(c);
  }

  private beginStringOrEmpty(c: number): string | null {
    if (isSpace(c)) return null;
    if (c === 0x7d) {
      this.parse[this.parse.length - 1] = PARSE_OBJECT_VALUE;
      return this.endValue(c);
    }
    return this.beginString(c);
  }

  private beginString(c: number): string | null {
    if (isSpace(c)) return null;
    if (c === 0x22) {
      this.step = (d) => this.inString(d);
      return null;
    }
    return this.err(c, "looking for beginning of object key string");
  }

  private inString(c: number): string | null {
    if (c === 0x22) {
      this.step = (d) => this.endValue(d);
      return null;
    }
    if (c === 0x5c) {
      this.step = (d) => this.inStringEsc(d);
      return null;
    }
    if (c < 0x20) return this.err(c, "in string literal");
    return null;
  }

  private inStringEsc(c: number): string | null {
    if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(c)) {
      this.step = (d) => this.inString(d);
      return null;
    }
    if (c === 0x75) {
      this.hexEscape(4);
      return null;
    }
    return this.err(c, "in string escape code");
  }

  private hexEscape(left: number): void {
    this.step = (d) => {
      if (!isHex(d)) return this.err(d, "in \\u hexadecimal character escape");
      if (left === 1) this.step = (e) => this.inString(e);
      else this.hexEscape(left - 1);
      return null;
    };
  }

  private neg(c: number): string | null {
    if (c === 0x30) {
      this.step = (d) => this.zero(d);
      return null;
    }
    if (c >= 0x31 && c <= 0x39) {
      this.step = (d) => this.one(d);
      return null;
    }
    return this.err(c, "in numeric literal");
  }

  private one(c: number): string | null {
    if (isDigit(c)) return null;
    return this.zero(c);
  }

  private zero(c: number): string | null {
    if (c === 0x2e) {
      this.step = (d) => this.dot(d);
      return null;
    }
    if (c === 0x65 || c === 0x45) {
      this.step = (d) => this.expStart(d);
      return null;
    }
    return this.endValue(c);
  }

  private dot(c: number): string | null {
    if (isDigit(c)) {
      this.step = (d) => this.dot0(d);
      return null;
    }
    return this.err(c, "after decimal point in numeric literal");
  }

  private dot0(c: number): string | null {
    if (isDigit(c)) return null;
    if (c === 0x65 || c === 0x45) {
      this.step = (d) => this.expStart(d);
      return null;
    }
    return this.endValue(c);
  }

  private expStart(c: number): string | null {
    if (c === 0x2b || c === 0x2d) {
      this.step = (d) => this.expSign(d);
      return null;
    }
    return this.expSign(c);
  }

  private expSign(c: number): string | null {
    if (isDigit(c)) {
      this.step = (d) => (isDigit(d) ? null : this.endValue(d));
      return null;
    }
    return this.err(c, "in exponent of numeric literal");
  }

  private endValue(c: number): string | null {
    const n = this.parse.length;
    if (n === 0) {
      this.done = true;
      this.step = (d) => this.endTop(d);
      return this.endTop(c);
    }
    if (isSpace(c)) {
      this.step = (d) => this.endValue(d);
      return null;
    }
    const ps = this.parse[n - 1];
    if (ps === PARSE_OBJECT_KEY) {
      if (c === 0x3a) {
        this.parse[n - 1] = PARSE_OBJECT_VALUE;
        this.step = (d) => this.beginValue(d);
        return null;
      }
      return this.err(c, "after object key");
    }
    if (ps === PARSE_OBJECT_VALUE) {
      if (c === 0x2c) {
        this.parse[n - 1] = PARSE_OBJECT_KEY;
        this.step = (d) => this.beginString(d);
        return null;
      }
      if (c === 0x7d) return this.pop();
      return this.err(c, "after object key:value pair");
    }
    if (c === 0x2c) {
      this.step = (d) => this.beginValue(d);
      return null;
    }
    if (c === 0x5d) return this.pop();
    return this.err(c, "after array element");
  }

  private pop(): null {
    this.parse.pop();
    if (this.parse.length === 0) {
      this.done = true;
      this.step = (d) => this.endTop(d);
    } else {
      this.step = (d) => this.endValue(d);
    }
    return null;
  }

  private endTop(c: number): string | null {
    if (!isSpace(c)) return this.err(c, "after top-level value");
    return null;
  }
}
