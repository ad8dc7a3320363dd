// The console page: one live snapshot from /console/api/events (server-sent
// events) rendered into tables, and the admin API for create/scale/delete
// and, per deployment, update/history/rollback (rollout.js).
import { parseCommand } from "./input.js";
import { RolloutPanel } from "./rollout.js";
import { h, phaseClass, podColours, podStatusText } from "./view.js";

const $ = (sel) => document.querySelector(sel);
let token = takeToken();
let source = null;
let lastState = null;
const rollout = new RolloutPanel(document.querySelector("#rollout"), api);

/** The admin token: from #token=... (then removed from the address bar) or this tab's storage. */
function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("domeos-admin-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("domeos-admin-token");
}

/** Ask for the token; `rejected`: the server refused the one we had. */
function askToken(rejected) {
  $("#token-panel").hidden = false;
  const why = $("#token-error");
  why.hidden = !rejected;
  why.textContent = rejected
    ? "The server rejected that admin token (401). Paste the token printed when domeos-server (or npm start) started; it changes at each start unless it was fixed with --admin-token or DOMEOS_ADMIN_TOKEN."
    : "";
}

function connect() {
  if (!token) {
    askToken(false);
    return;
  }
  $("#token-panel").hidden = true;
  source?.close();
  source = new EventSource(`api/events?token=${encodeURIComponent(token)}`);
  source.addEventListener("state", (ev) => {
    lastState = JSON.parse(ev.data);
    setLive(true);
    render(lastState);
  });
  source.addEventListener("error", async () => {
    setLive(false);
    // a wrong token answers 401 and EventSource gives up: ask for another
    const res = await fetch(`api/state?token=${encodeURIComponent(token)}`).catch(() => null);
    if (res && res.status === 401) {
      source.close();
      token = null;
      sessionStorage.removeItem("domeos-admin-token");
      setLive(false, "token rejected");
      askToken(true);
    }
  });
}

function setLive(on, why) {
  const b = $("#live");
  b.textContent = on ? "live" : (why ?? "reconnecting…");
  b.className = `badge ${on ? "on" : "off"}`;
}

function render(s) {
  document.body.dataset.revision = String(s.revision);
  const owners = Object.values(s.hosts).flatMap((list) => list.map((o) => o.pod).filter(Boolean));
  const colours = podColours([...s.pods.map((p) => `${p.namespace}/${p.name}`), ...owners]);
  renderInfo(s.info);
  renderDeployments(s);
  renderPods(s, colours);
  renderPorts(s, colours);
  renderConfd(s.confd);
}

function renderInfo(info) {
  $("#info").replaceChildren(
    ...Object.entries(info).flatMap(([k, v]) => [
      h("dt", {}, k),
      h("dd", {}, /^https?:\/\//.test(v) ? h("a", { href: v, target: "_blank" }, v) : v),
    ]),
  );
}

/** Replica counts typed but not applied yet, by "ns/name": live re-renders must not lose them. */
const pendingScale = new Map();

function renderDeployments(s) {
  const focused = document.activeElement?.dataset?.scaleFor;
  const rows = s.deployments.map((d) => {
    const key = `${d.namespace}/${d.name}`;
    const running = s.pods.filter((p) => p.deployName === d.name && p.namespace === d.namespace);
    const ready = running.filter((p) => p.ready).length;
    const input = h("input", {
      type: "number",
      min: "0",
      value: pendingScale.get(key) ?? String(d.replicas),
      "aria-label": `replicas of ${d.name}`,
      dataset: { scaleFor: key },
      oninput: (ev) => pendingScale.set(key, ev.target.value),
    });
    return h(
      "tr",
      { dataset: { deployment: `${d.namespace}/${d.name}` } },
      h("td", {}, h("strong", {}, d.name), h("div", { class: "muted" }, d.namespace)),
      h("td", {}, d.networkMode === "HOST" ? "host" : "default"),
      h("td", { class: "replicas" }, `${ready}/${d.replicas} ready`),
      h("td", {}, String(d.ports)),
      h("td", {}, h("code", {}, d.command.length > 0 ? d.command.join(" ") : (d.image ?? ""))),
      h(
        "td",
        {},
        d.templates.map((t) => h("div", {}, h("code", {}, `${t.src}:${t.dest}`))),
      ),
      h(
        "td",
        {},
        input,
        " ",
        h(
          "button",
          {
            class: "scale",
            onclick: () => {
              pendingScale.delete(key);
              scale(d, Number(input.value));
            },
          },
          "Scale",
        ),
      ),
      h(
        "td",
        { class: "actions" },
        h("button", { class: "rollout-open", onclick: () => rollout.open(d) }, "Rollout…"),
        " ",
        h("button", { class: "delete danger", onclick: () => remove(d) }, "Delete"),
      ),
    );
  });
  rollout.forget(new Set(s.deployments.map((d) => `${d.namespace}/${d.name}`)));
  $("#deployments tbody").replaceChildren(...rows);
  // keep the cursor where the user was typing
  if (focused) document.querySelector(`input[data-scale-for="${CSS.escape(focused)}"]`)?.focus();
  $("#no-deployments").hidden = rows.length > 0;
}

function renderPods(s, colours) {
  if (s.pods.length === 0) {
    $("#pods").replaceChildren(h("p", { class: "muted" }, "No pods."));
    return;
  }
  const cards = s.pods.map((p) =>
    h(
      "article",
      { class: `pod ${phaseClass(p)}`, dataset: { pod: `${p.namespace}/${p.name}` } },
      h(
        "header",
        {},
        h("span", { class: "swatch", style: null }, ""),
        h("strong", {}, p.name),
        h("span", { class: "phase" }, podStatusText(p)),
        h(
          "span",
          { class: "ready" },
          p.terminating ? "Terminating" : p.ready ? "Ready" : "Not ready",
        ),
      ),
      h(
        "dl",
        {},
        h("dt", {}, "host"),
        h("dd", {}, p.host || "–"),
        h("dt", {}, "ready"),
        h("dd", {}, p.ready ? "True" : `False${p.readyReason ? ` (${p.readyReason})` : ""}`),
        h("dt", {}, "podIP"),
        h("dd", {}, p.podIP ?? "– (not in the load balancer)"),
        h("dt", {}, "ports"),
        h(
          "dd",
          { class: "auto-ports" },
          Object.entries(p.ports)
            .map(([k, v]) => `${k}=${v}`)
            .join("  ") || "–",
        ),
        h("dt", {}, "restarts"),
        h("dd", { class: "restarts" }, String(p.restarts)),
        p.lastExit && h("dt", {}, "last exit"),
        p.lastExit && h("dd", { class: "last-exit" }, lastExitText(p.lastExit)),
      ),
      h("pre", { class: "logs" }, p.logs.length ? p.logs.join("\n") : "(no output yet)"),
    ),
  );
  for (const c of cards)
    c.querySelector(".swatch").style.backgroundColor = colours.get(c.dataset.pod);
  $("#pods").replaceChildren(...cards);
}

function lastExitText(e) {
  const how = e.signal !== undefined ? `signal ${e.signal}` : `exit code ${e.exitCode}`;
  const when = e.finishedAt ? ` at ${new Date(e.finishedAt).toLocaleTimeString()}` : "";
  return `${how}${e.reason ? ` (${e.reason})` : ""}${when}`;
}

/** Cells per row of the port map; each row starts with its first port number. */
const PORTS_PER_ROW = 50;

function renderPorts(s, colours) {
  const { min, max } = s.portRange;
  const hosts = Object.entries(s.hosts);
  if (hosts.length === 0) {
    $("#ports").replaceChildren(h("p", { class: "muted" }, `No ports taken in ${min}-${max}.`));
    return;
  }
  const blocks = hosts.map(([host, owners]) => {
    const byPort = new Map(owners.map((o) => [o.port, o]));
    const grid = h("div", {
      class: "grid",
      role: "img",
      "aria-label": `ports ${min}-${max} on ${host}`,
    });
    for (let row = min; row <= max; row += PORTS_PER_ROW) {
      grid.append(h("span", { class: "axis" }, String(row)));
      for (let port = row; port < row + PORTS_PER_ROW; port++) {
        if (port > max) {
          grid.append(h("span", { class: "cell outside" }));
          continue;
        }
        const o = byPort.get(port);
        const cell = h("span", {
          class: o ? "cell used" : "cell",
          title: o ? `${port}: ${o.pod ?? o.kind}` : `${port}: free`,
          dataset: { port: String(port) },
        });
        if (o) cell.style.backgroundColor = o.pod ? colours.get(o.pod) : "#888";
        grid.append(cell);
      }
    }
    return h(
      "div",
      { class: "host", dataset: { host } },
      h("h3", {}, `${host}: ${owners.length} of ${max - min + 1} ports taken`),
      grid,
      h(
        "table",
        { class: "taken" },
        h(
          "tbody",
          {},
          owners.map((o) => h("tr", {}, h("td", {}, String(o.port)), h("td", {}, o.pod ?? o.kind))),
        ),
      ),
    );
  });
  $("#ports").replaceChildren(...blocks);
}

function renderConfd(list) {
  if (list.length === 0) {
    $("#confd").replaceChildren(
      h("p", { class: "muted" }, "No domeos-confd resources configured for this console."),
    );
    return;
  }
  $("#confd").replaceChildren(
    ...list.map((r) =>
      h(
        "div",
        { class: "confd" },
        h("h3", {}, r.name, " ", h("code", {}, r.dest)),
        h("div", { class: "health" }, healthText(r.health)),
        h("pre", {}, r.content ?? "(not rendered yet)"),
      ),
    ),
  );
}

function healthText(health) {
  if (!health) return "no health endpoint";
  if (health.error) return health.error;
  if (!Array.isArray(health.resources)) {
    const { status, ...rest } = health;
    return `health ${status}: ${JSON.stringify(rest)}`;
  }
  const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : "never");
  const b = health.backend ?? {};
  const lines = [
    `${health.healthy ? "healthy" : "UNHEALTHY"} · backend ${b.name ?? "?"} ${b.connected ? "connected" : "DISCONNECTED"} (revision ${b.revision ?? "?"})`,
    ...health.resources.map(
      (r) =>
        `last render/check/reload: ${r.lastOutcome ?? "none"} at ${time(r.lastAttemptAt)}, last success ${time(r.lastSuccessAt)}` +
        (r.lastError ? ` · error: ${r.lastError}` : ""),
    ),
    ...(health.invalidResources ?? []).map((r) => `invalid resource: ${JSON.stringify(r)}`),
  ];
  return lines.join("\n");
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      // recorded as who asked for a change (revision history)
      "x-domeos-user": "console",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let msg = `${res.status} ${res.statusText}`;
  let result = null;
  try {
    const j = await res.json();
    msg = j.resultMsg ?? msg;
    result = j.result ?? null;
  } catch {}
  if (!res.ok) throw new Error(msg);
  return result;
}

function showError(sel, err) {
  const box = $(sel);
  box.textContent = err ? err.message : "";
  box.hidden = !err;
}

async function scale(d, replicas) {
  try {
    await api("PATCH", `/api/deployments/${d.namespace}/${d.name}`, { replicas });
    showError("#action-error", null);
  } catch (err) {
    showError("#action-error", new Error(`scale ${d.name}: ${err.message}`));
  }
}

async function remove(d) {
  const pods = lastState?.pods.filter(
    (p) => p.deployName === d.name && p.namespace === d.namespace,
  );
  const what = `Delete deployment ${d.namespace}/${d.name}? Its ${pods?.length ?? d.replicas} pod(s) will be drained and stopped.`;
  if (!window.confirm(what)) return;
  try {
    await api("DELETE", `/api/deployments/${d.namespace}/${d.name}`);
    showError("#action-error", null);
  } catch (err) {
    showError("#action-error", new Error(`delete ${d.name}: ${err.message}`));
  }
}

$("#create").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const body = {
      name: String(f.get("name")).trim(),
      namespace: String(f.get("namespace")).trim() || "default",
      command: parseCommand(String(f.get("command"))),
      networkMode: f.get("networkMode"),
      ports: Number(f.get("ports")),
      replicas: Number(f.get("replicas")),
      accessType: f.get("accessType"),
      templates: String(f.get("templates"))
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean),
    };
    await api("POST", "/api/deployments", body);
    showError("#create-error", null);
    ev.target.reset();
  } catch (err) {
    showError("#create-error", err);
  }
});

$("#token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("#token-input").value.trim();
  sessionStorage.setItem("domeos-admin-token", token);
  connect();
});

connect();
