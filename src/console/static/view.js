// Rendering helpers: DOM built with textContent only (never innerHTML), so
// pod names, log lines and rendered files cannot inject markup.

/** h("td", {class: "x"}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * One colour per pod, all different: hues spread by the golden angle in the
 * order of the sorted keys (a hash of the name let two pods share a colour).
 */
export function podColours(keys) {
  const sorted = [...new Set(keys)].sort();
  return new Map(
    sorted.map((k, i) => [
      k,
      `hsl(${Math.round((i * 137.508) % 360)} ${i % 2 ? 55 : 70}% ${i % 3 === 2 ? 42 : 52}%)`,
    ]),
  );
}

/** What a pod is doing, in words: the waiting reason and last exit beat the phase. */
export function podStatusText(pod) {
  if (pod.terminating) return "Terminating";
  const exit = pod.lastExit
    ? pod.lastExit.signal !== undefined
      ? `killed by signal ${pod.lastExit.signal}`
      : `exit code ${pod.lastExit.exitCode}`
    : "";
  if (pod.state === "waiting" && pod.reason && pod.reason !== "ContainerCreating")
    return exit ? `${pod.reason} (${exit})` : pod.reason;
  if (pod.state === "terminated") return `${pod.reason || "Terminated"}${exit ? ` (${exit})` : ""}`;
  return pod.phase + (pod.ready ? "" : ` (${pod.state || "not ready"})`);
}

export function phaseClass(pod) {
  if (pod.state === "waiting" && pod.reason === "CrashLoopBackOff") return "bad";
  if (pod.phase === "Running" && pod.ready) return "ok";
  if (pod.phase === "Running") return "warn";
  return "bad";
}
