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

/** A stable colour per pod name, for the port map. */
export function colourOf(name) {
  let x = 0;
  for (const ch of name) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${x % 360} 65% 55%)`;
}

export function phaseClass(pod) {
  if (pod.phase === "Running" && pod.ready) return "ok";
  if (pod.phase === "Running") return "warn";
  return "bad";
}
