// The flags domeize accepts: dockerize v0.13's set, plus the few knobs the
// fixes need (report deadline, per-request timeout, grace period).

import type { FlagSpec } from "../../goflag/flags.js";

export const FLAG_SPECS: readonly FlagSpec[] = [
  {
    name: "template",
    kind: "list",
    arg: "src:dest",
    usage:
      "render template src to dest (repeatable); src alone (or src:) renders to stdout; a directory renders every file in it into the dest directory",
  },
  {
    name: "no-overwrite",
    kind: "bool",
    usage: "keep destination files that already exist (templates still parse)",
  },
  { name: "stdout", kind: "list", arg: "file", usage: "tail file to stdout (repeatable)" },
  { name: "stderr", kind: "list", arg: "file", usage: "tail file to stderr (repeatable)" },
  { name: "poll", kind: "bool", usage: "tail files by polling instead of file-system events" },
  {
    name: "delims",
    kind: "string",
    arg: "l:r",
    usage: 'template delimiters, left and right separated by ":" (default "{{:}}")',
  },
  {
    name: "wait",
    kind: "list",
    arg: "url",
    usage:
      "wait for a dependency before starting (repeatable): tcp://h:p tcp4:// tcp6:// unix:///path file:///path http://... https://...",
  },
  {
    name: "wait-http-header",
    kind: "list",
    arg: "'Name: value'",
    usage: "HTTP header sent with http(s) waits (repeatable)",
  },
  {
    name: "wait-retry-interval",
    kind: "duration",
    arg: "duration",
    defaultText: "1s",
    usage: "pause between two checks of one dependency",
  },
  {
    name: "timeout",
    kind: "duration",
    arg: "duration",
    defaultText: "10s",
    usage: "how long to wait for all dependencies together",
  },
  {
    name: "report-deadline",
    kind: "duration",
    arg: "duration",
    defaultText: "60s",
    usage: "give up reporting ports to DomeOS after this long (env DOMEIZE_REPORT_DEADLINE)",
  },
  {
    name: "report-timeout",
    kind: "duration",
    arg: "duration",
    defaultText: "5s",
    usage: "timeout of one report request (env DOMEIZE_REPORT_TIMEOUT)",
  },
  {
    name: "grace-period",
    kind: "duration",
    arg: "duration",
    defaultText: "10s",
    usage: "after forwarding a terminating signal, SIGKILL the app if it is still running",
  },
  { name: "version", kind: "bool", usage: "print the version and exit" },
];
