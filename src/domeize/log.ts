// Diagnostics go to stderr only: stdout may carry a rendered template.
// The prefix mirrors Go's log package ("2006/01/02 15:04:05 ") so existing
// log parsers keep working, followed by the program name.

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function stamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function log(message: string): void {
  process.stderr.write(`${stamp(new Date())} domeize: ${message}\n`);
}
