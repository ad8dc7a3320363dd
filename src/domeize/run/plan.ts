// The exec plan handed to the sh launcher (bin/domeize): sh sources it and
// the app replaces the launcher (same pid, signals delivered directly,
// nothing of domeize left in memory). Every value is single-quoted, so no
// byte of a value is ever interpreted by the shell.

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface Plan {
  /**
   * Files the plan removes first (the plan file itself, the launcher's
   * /proc/net copy); none when Node removed them (the launcher reads the
   * plan through a descriptor it opened before, DOMEIZE_PLAN_FD).
   */
  readonly remove: readonly string[];
  readonly exports: Record<string, string>;
  /** argv to exec; empty = nothing to run (exit 0). */
  readonly argv: readonly string[];
}

export function renderPlan(plan: Plan): string {
  const lines = plan.remove.length > 0 ? [`rm -f -- ${plan.remove.map(shellQuote).join(" ")}`] : [];
  for (const [k, v] of Object.entries(plan.exports)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad variable name ${k}`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  if (plan.argv.length === 0) lines.push("exit 0");
  else lines.push(`exec ${plan.argv.map(shellQuote).join(" ")}`);
  return `${lines.join("\n")}\n`;
}
