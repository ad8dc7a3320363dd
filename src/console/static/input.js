// Form fields the console turns into API values (create and update forms).

/** The command field: a JSON array, or words separated by spaces. */
export function parseCommand(text) {
  const t = text.trim();
  if (t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      throw new Error('command: not a valid JSON array (write ["prog","arg"] or plain words)');
    }
  }
  return t.split(/\s+/).filter(Boolean);
}

/** The env field: one NAME=value per line (blank lines skipped); the server checks the names. */
export function parseEnv(text) {
  const env = {};
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`env line ${i + 1}: ${JSON.stringify(line)} must be NAME=value`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  });
  return env;
}

/** The env as the form shows it: NAME=value lines, sorted by name. */
export function envText(env) {
  return Object.keys(env ?? {})
    .sort()
    .map((k) => `${k}=${env[k]}`)
    .join("\n");
}
