// sprig v3's date functions that config templates use: now, date, unixEpoch
// and dateModify (Go time.ParseDuration strings; the plain form returns the
// date unchanged on a bad duration, the must form returns the error).

import { parseDurationNs } from "../../golib/duration.js";
import { GoTime } from "../../golib/time.js";
import { type FuncMap, goFunc } from "../../gotemplate/value.js";

const TIME = "time.Time";

function dateModify(fmt: string, date: GoTime): GoTime {
  try {
    return GoTime.add(date, parseDurationNs(fmt));
  } catch {
    return date;
  }
}

function mustDateModify(fmt: string, date: GoTime): GoTime {
  return GoTime.add(date, parseDurationNs(fmt));
}

/** sprig's dateInZone(fmt, date, "Local"): a time.Time or Unix seconds; anything else is now. */
function date(fmt: string, d: unknown): string {
  let t: GoTime;
  if (d instanceof GoTime) t = d;
  else if (typeof d === "bigint") t = new GoTime(Number(d) * 1000);
  else t = new GoTime(Date.now());
  return t.Local().Format(fmt);
}

export function sprigDates(): FuncMap {
  const modify = goFunc(["string", TIME], dateModify as never);
  const mustModify = goFunc(["string", TIME], mustDateModify as never);
  return {
    now: goFunc([], () => new GoTime(Date.now())),
    date: goFunc(["string", "any"], date as never),
    unixEpoch: goFunc([TIME], ((t: GoTime) => t.Unix().toString()) as never),
    dateModify: modify,
    date_modify: modify,
    mustDateModify: mustModify,
    must_date_modify: mustModify,
  };
}
