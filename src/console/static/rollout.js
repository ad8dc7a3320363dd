// The rollout panel of one deployment: the latest rollout's progress
// (GET .../rollout), the revision history (GET .../history) with a rollback
// per revision (POST .../rollback {toRevision}), and a form that updates
// image, command, env and replicas (PATCH, only the fields that changed).
// Refreshed every second while open: on Kubernetes the controller's progress
// is not in the store, so no live event announces it.
import { envText, parseCommand, parseEnv } from "./input.js";
import { h } from "./view.js";

const REFRESH_MS = 1000;

export class RolloutPanel {
  /** `api(method, path, body)` resolves to the envelope's result or throws with its message. */
  constructor(root, api) {
    this.root = root;
    this.api = api;
    this.key = null;
    this.timer = null;
    this.loaded = null;
    /** The form was edited since it was last filled: live refreshes must not lose that. */
    this.dirty = false;
  }

  /** Show the panel for deployment `d` ({namespace, name}). */
  async open(d) {
    this.key = `${d.namespace}/${d.name}`;
    this.loaded = null;
    this.root.hidden = false;
    this.root.dataset.deployment = this.key;
    this.root.replaceChildren(
      h(
        "header",
        { class: "rollout-head" },
        h("h2", {}, `Rollout of ${this.key}`),
        h("button", { type: "button", class: "close", onclick: () => this.close() }, "Close"),
      ),
      h("div", { class: "rollout-status", "aria-live": "polite" }, "loading…"),
      h("div", { id: "rollout-error", class: "error", role: "alert", hidden: true }),
      h("h3", {}, "Update"),
      this.updateForm(),
      h("h3", {}, "Revisions"),
      h("table", { class: "history" }),
    );
    this.root.scrollIntoView({ block: "start" });
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    await this.refresh();
  }

  close() {
    clearInterval(this.timer);
    this.timer = null;
    this.key = null;
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  /** The deployment was deleted elsewhere: nothing left to show. */
  forget(keys) {
    if (this.key && !keys.has(this.key)) this.close();
  }

  path(suffix = "") {
    const [ns, name] = this.key.split("/");
    return `/api/deployments/${encodeURIComponent(ns)}/${encodeURIComponent(name)}${suffix}`;
  }

  async refresh() {
    const key = this.key;
    if (!key) return;
    try {
      const [d, status, history] = await Promise.all([
        this.api("GET", this.path()),
        this.api("GET", this.path("/rollout")),
        this.api("GET", this.path("/history")),
      ]);
      if (this.key !== key) return; // closed or switched meanwhile
      // a change made elsewhere (a rollback, the CLI) shows, unless the user is typing one
      if (!this.loaded || (d.updatedAt !== this.loaded.updatedAt && !this.dirty)) this.fill(d);
      this.loaded = d;
      this.renderStatus(status);
      this.renderHistory(history, status.revision);
    } catch (err) {
      if (this.key === key) this.error(err);
    }
  }

  error(err) {
    const box = this.root.querySelector("#rollout-error");
    box.textContent = err ? err.message : "";
    box.hidden = !err;
  }

  renderStatus(s) {
    const total = Math.max(s.desired, 1);
    const bar = h("div", {
      class: "bar",
      role: "img",
      "aria-label": `${s.ready} of ${s.desired} new pods ready`,
    });
    const fill = h("span", { class: "fill" });
    fill.style.width = `${Math.min(100, Math.round((100 * s.ready) / total))}%`;
    bar.append(fill);
    const when = s.finishedAt
      ? `finished ${new Date(s.finishedAt).toLocaleTimeString()}`
      : s.startedAt
        ? `started ${new Date(s.startedAt).toLocaleTimeString()}`
        : "";
    this.root.querySelector(".rollout-status").replaceChildren(
      h(
        "div",
        { class: "rollout-line" },
        h("span", { class: `phase-badge phase-${s.phase}`, dataset: { phase: s.phase } }, s.phase),
        h("strong", { class: "revision" }, `revision ${s.revision}`),
        h("span", { class: "muted" }, when),
      ),
      bar,
      h(
        "dl",
        { class: "counts" },
        ...[
          ["desired", s.desired],
          ["updated", s.updated],
          ["ready", s.ready],
          ["available", s.available],
          ["old pods", s.oldPods],
        ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { count: k } }, String(v))]),
      ),
      // replaceChildren (unlike h) would print a missing reason as "undefined"
      s.reason
        ? h("p", { class: s.phase === "Failed" ? "reason error" : "reason muted" }, s.reason)
        : "",
    );
  }

  renderHistory(records, current) {
    const rows = [...records]
      .sort((a, b) => b.revision - a.revision)
      .map((r) =>
        h(
          "tr",
          { dataset: { revision: String(r.revision) } },
          h("td", {}, String(r.revision)),
          h("td", {}, new Date(r.createdAt).toLocaleString()),
          h("td", {}, r.by ?? "–"),
          h("td", { class: "cause" }, r.cause ?? "–"),
          h("td", {}, h("code", { class: "what" }, revisionSummary(r.spec))),
          h(
            "td",
            {},
            r.revision === current
              ? h("span", { class: "current" }, "current")
              : h(
                  "button",
                  { type: "button", class: "rollback", onclick: () => this.rollback(r.revision) },
                  `Roll back to ${r.revision}`,
                ),
          ),
        ),
      );
    this.root.querySelector("table.history").replaceChildren(
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["revision", "created", "by", "cause", "runs", ""].map((t) => h("th", {}, t)),
        ),
      ),
      h("tbody", {}, rows),
    );
  }

  async rollback(revision) {
    if (!window.confirm(`Roll ${this.key} back to revision ${revision}?`)) return;
    try {
      await this.api("POST", this.path("/rollback"), { toRevision: revision });
      this.error(null);
    } catch (err) {
      this.error(new Error(`rollback to ${revision}: ${err.message}`));
    }
    await this.refresh();
  }

  updateForm() {
    const form = h(
      "form",
      { id: "update" },
      h("label", {}, "image ", h("input", { name: "image", placeholder: "(standalone: none)" })),
      h("label", { class: "wide" }, "command ", h("input", { name: "command" })),
      h(
        "label",
        { class: "wide" },
        h("span", {}, "env (one ", h("code", {}, "NAME=value"), " per line)"),
        h("textarea", { name: "env", rows: "3" }),
      ),
      h("label", {}, "replicas ", h("input", { name: "replicas", type: "number", min: "0" })),
      h("button", { type: "submit" }, "Update"),
      h("div", { id: "update-error", class: "error", role: "alert", hidden: true }),
    );
    form.addEventListener("input", () => {
      this.dirty = true;
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.update(form);
    });
    return form;
  }

  fill(d) {
    const f = this.root.querySelector("#update");
    f.elements.image.value = d.image ?? "";
    f.elements.command.value = d.command ? JSON.stringify(d.command) : "";
    f.elements.env.value = envText(d.env);
    f.elements.replicas.value = String(d.replicas);
    this.dirty = false;
  }

  /** PATCH the fields that differ from the deployment as loaded. */
  async update(form) {
    const box = form.querySelector("#update-error");
    try {
      const change = changedFields(this.loaded, form.elements);
      if (Object.keys(change).length === 0) throw new Error("nothing changed");
      const updated = await this.api("PATCH", this.path(), change);
      this.fill(updated);
      this.loaded = updated;
      box.hidden = true;
      box.textContent = "";
      await this.refresh();
    } catch (err) {
      box.textContent = err.message;
      box.hidden = false;
    }
  }
}

function changedFields(d, el) {
  const out = {};
  const image = el.image.value.trim();
  if (image !== (d.image ?? "")) out.image = image === "" ? null : image;
  const commandText = el.command.value.trim();
  const command = commandText === "" ? undefined : parseCommand(commandText);
  if (JSON.stringify(command) !== JSON.stringify(d.command))
    out.command = command === undefined ? null : command;
  const env = parseEnv(el.env.value);
  if (envText(env) !== envText(d.env)) out.env = env;
  const replicas = Number(el.replicas.value);
  if (replicas !== d.replicas) out.replicas = replicas;
  return out;
}

/** One line of what a revision runs: image or command, then its env. */
function revisionSummary(spec) {
  const what = spec.image ?? (spec.command ?? []).join(" ");
  const env = envText(spec.env).replaceAll("\n", " ");
  return env ? `${what}  ${env}` : what;
}
