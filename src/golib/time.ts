// Go's time.Time as a template value, with Go's layout formatting: confd's
// `datetime` and sprig's `now` / `dateModify` / `date` / `unixEpoch`.
// Templates use it through methods, mostly `.Format "2006-01-02"` and
// `.Unix`; %T prints time.Time. Millisecond precision (JavaScript's clock).

import { GoStruct } from "../gotemplate/value.js";

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const pad = (n: number, w: number) => String(n).padStart(w, "0");

// Longest tokens first, so "2006" wins over "2", "January" over "Jan".
const TOKENS = [
  "January",
  "Monday",
  "Z07:00",
  "-07:00",
  "Z0700",
  "-0700",
  "2006",
  "Jan",
  "Mon",
  "MST",
  "002",
  "-07",
  "01",
  "02",
  "_2",
  "03",
  "04",
  "05",
  "06",
  "15",
  "PM",
  "pm",
  "1",
  "2",
  "3",
  "4",
  "5",
];

export class GoTime extends GoStruct {
  static readonly goMethods = {
    Format: { params: ["string"], result: "string" },
    String: { params: [], result: "string" },
    Unix: { params: [], result: "int64" },
    UnixNano: { params: [], result: "int64" },
    UTC: { params: [], result: "time.Time" },
    Local: { params: [], result: "time.Time" },
    Year: { params: [], result: "int" },
    Day: { params: [], result: "int" },
    Hour: { params: [], result: "int" },
    Minute: { params: [], result: "int" },
    Second: { params: [], result: "int" },
  };

  constructor(
    private readonly ms: number,
    private readonly utc = false,
  ) {
    super();
  }

  get goType(): string {
    return "time.Time";
  }

  /** t.Add(d) for a duration in nanoseconds (kept to milliseconds), in t's zone. */
  static add(t: GoTime, ns: bigint): GoTime {
    return new GoTime(t.ms + Number(ns / 1_000_000n), t.utc);
  }

  private parts() {
    const d = new Date(this.ms);
    const offsetMin = this.utc ? 0 : -d.getTimezoneOffset();
    const local = new Date(this.ms + offsetMin * 60000);
    return {
      year: local.getUTCFullYear(),
      month: local.getUTCMonth(),
      day: local.getUTCDate(),
      hour: local.getUTCHours(),
      minute: local.getUTCMinutes(),
      second: local.getUTCSeconds(),
      millis: local.getUTCMilliseconds(),
      weekday: local.getUTCDay(),
      yday:
        Math.floor(
          (Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) -
            Date.UTC(local.getUTCFullYear(), 0, 1)) /
            86400000,
        ) + 1,
      offsetMin,
    };
  }

  Format(layout: string): string {
    const p = this.parts();
    let out = "";
    let i = 0;
    outer: while (i < layout.length) {
      // Fractional seconds: .000 / .999 (any run of 0s or 9s after a dot).
      const frac = /^[.,](0+|9+)/.exec(layout.slice(i));
      if (frac && !/[0-9]/.test(layout[i + frac[0].length] ?? "")) {
        const digits = pad(p.millis, 3).padEnd(9, "0").slice(0, frac[1].length);
        out +=
          frac[1][0] === "9"
            ? digits.replace(/0+$/, "")
              ? `.${digits.replace(/0+$/, "")}`
              : ""
            : `.${digits}`;
        i += frac[0].length;
        continue;
      }
      for (const tok of TOKENS) {
        if (layout.startsWith(tok, i)) {
          out += this.token(tok, p);
          i += tok.length;
          continue outer;
        }
      }
      out += layout[i++];
    }
    return out;
  }

  private token(tok: string, p: ReturnType<GoTime["parts"]>): string {
    const h12 = p.hour % 12 === 0 ? 12 : p.hour % 12;
    const off = p.offsetMin;
    const sign = off < 0 ? "-" : "+";
    const oh = pad(Math.floor(Math.abs(off) / 60), 2);
    const om = pad(Math.abs(off) % 60, 2);
    switch (tok) {
      case "2006":
        return String(p.year);
      case "06":
        return pad(p.year % 100, 2);
      case "January":
        return MONTHS[p.month];
      case "Jan":
        return MONTHS[p.month].slice(0, 3);
      case "01":
        return pad(p.month + 1, 2);
      case "1":
        return String(p.month + 1);
      case "Monday":
        return DAYS[p.weekday];
      case "Mon":
        return DAYS[p.weekday].slice(0, 3);
      case "02":
        return pad(p.day, 2);
      case "_2":
        return String(p.day).padStart(2, " ");
      case "2":
        return String(p.day);
      case "002":
        return pad(p.yday, 3);
      case "15":
        return pad(p.hour, 2);
      case "03":
        return pad(h12, 2);
      case "3":
        return String(h12);
      case "04":
        return pad(p.minute, 2);
      case "4":
        return String(p.minute);
      case "05":
        return pad(p.second, 2);
      case "5":
        return String(p.second);
      case "PM":
        return p.hour >= 12 ? "PM" : "AM";
      case "pm":
        return p.hour >= 12 ? "pm" : "am";
      case "MST":
        return this.utc ? "UTC" : off === 0 ? "UTC" : `${sign}${oh}`;
      case "-0700":
        return `${sign}${oh}${om}`;
      case "-07:00":
        return `${sign}${oh}:${om}`;
      case "-07":
        return `${sign}${oh}`;
      case "Z0700":
        return off === 0 ? "Z" : `${sign}${oh}${om}`;
      case "Z07:00":
        return off === 0 ? "Z" : `${sign}${oh}:${om}`;
      default:
        return tok;
    }
  }

  /** Go's Time.String layout (without the monotonic clock reading). */
  String(): string {
    return this.Format("2006-01-02 15:04:05.999999999 -0700 MST");
  }
  Unix(): bigint {
    return BigInt(Math.floor(this.ms / 1000));
  }
  UnixNano(): bigint {
    return BigInt(this.ms) * 1000000n;
  }
  UTC(): GoTime {
    return new GoTime(this.ms, true);
  }
  Local(): GoTime {
    return new GoTime(this.ms, false);
  }
  Year(): bigint {
    return BigInt(this.parts().year);
  }
  Day(): bigint {
    return BigInt(this.parts().day);
  }
  Hour(): bigint {
    return BigInt(this.parts().hour);
  }
  Minute(): bigint {
    return BigInt(this.parts().minute);
  }
  Second(): bigint {
    return BigInt(this.parts().second);
  }
}
