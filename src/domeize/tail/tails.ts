// All -stdout/-stderr followers of one run.

import type { Options } from "../cli/options.js";
import { Follower } from "./follower.js";

export interface Tails {
  readonly count: number;
  stop(): void;
  /** With no command, tails run until SIGTERM/SIGINT/SIGHUP: exit 128+signal. */
  untilSignal(): Promise<number>;
}

export function startTails(opts: Options): Tails {
  const followers = [
    ...opts.stdoutTails.map((path) => new Follower({ path, out: process.stdout, poll: opts.poll })),
    ...opts.stderrTails.map((path) => new Follower({ path, out: process.stderr, poll: opts.poll })),
  ];
  for (const f of followers) f.start();
  return {
    count: followers.length,
    stop: () => {
      for (const f of followers) f.stop();
    },
    untilSignal: () =>
      new Promise((resolve) => {
        const codes = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
        for (const [sig, code] of Object.entries(codes)) process.once(sig, () => resolve(code));
      }),
  };
}
