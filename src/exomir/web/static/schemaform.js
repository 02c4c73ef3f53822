// A form generated from a pydantic JSON Schema (the design spec or the therapy spec).
// The model object is the truth; inputs write into it; arrays re-render on add/remove.
"use strict";
(() => {
  const {el} = exomir;
  let schema = null, model = {}, kind = "design", examples = {};

  function resolve(s) {
    while (s && s.$ref) s = schema.$defs[s.$ref.split("/").pop()];
    return s || {};
  }
  function unwrap(s) {  // anyOf [X, null] -> {schema: X, nullable: true}
    s = resolve(s);
    if (s.anyOf) {
      const parts = s.anyOf.map(resolve);
      const real = parts.filter((p) => p.type !== "null");
      if (real.length === 1) return {s: {...real[0], default: s.default, description: s.description || real[0].description, title: s.title || real[0].title}, nullable: true};
    }
    return {s, nullable: false};
  }
  function getAt(path) { return path.reduce((o, k) => (o == null ? undefined : o[k]), model); }
  function setAt(path, v) {
    let o = model;
    for (let i = 0; i < path.length - 1; i++) {
      if (o[path[i]] == null) o[path[i]] = typeof path[i + 1] === "number" ? [] : {};
      o = o[path[i]];
    }
    const last = path[path.length - 1];
    if (v === undefined) { if (Array.isArray(o)) o[last] = undefined; else delete o[last]; } else o[last] = v;
    syncJson();
  }
  const label = (name, s, required) => el("span", {class: "lbl", title: s.description || ""}, (s.title || String(name)).replace(/_/g, " ") + (required ? " *" : ""));

  function primitive(name, s, path, required, nullable) {
    const v = getAt(path), dp = path.join(".");
    if (s.enum) {
      const sel = el("select", {"data-path": dp, name: dp});
      if (!required || nullable) sel.append(el("option", {value: "", text: s.default !== undefined ? `(default: ${s.default})` : "—"}));
      for (const o of s.enum) sel.append(el("option", {value: o, text: o, selected: v === o}));
      sel.addEventListener("change", () => setAt(path, sel.value === "" ? undefined : sel.value));
      return el("label", {class: "field"}, label(name, s, required), sel);
    }
    if (s.type === "boolean") {
      const cb = el("input", {type: "checkbox", "data-path": dp, name: dp, checked: v === undefined ? !!s.default : !!v});
      cb.addEventListener("change", () => setAt(path, cb.checked));
      return el("label", {class: "field check"}, cb, label(name, s, required));
    }
    const isNum = s.type === "number" || s.type === "integer";
    const listOf = s.type === "array" ? resolve(s.items || (s.prefixItems || [])[0] || {}) : null;
    const input = el("input", {type: isNum ? "number" : "text", step: s.type === "integer" ? "1" : "any",
      "data-path": dp, name: dp, placeholder: s.default !== undefined && s.default !== null ? String(Array.isArray(s.default) ? s.default.join(", ") : s.default) : (listOf ? "comma-separated" : ""),
      min: s.minimum ?? s.exclusiveMinimum, max: s.maximum ?? s.exclusiveMaximum});
    if (v !== undefined && v !== null) input.value = Array.isArray(v) ? v.join(", ") : String(v);
    input.addEventListener("input", () => {
      const t = input.value.trim();
      if (t === "") return setAt(path, undefined);
      if (listOf) {
        const items = t.split(/[,\s]+/).filter(Boolean);
        const num = listOf.type === "number" || listOf.type === "integer";
        return setAt(path, items.map((x) => (num && x !== "" && !isNaN(Number(x)) ? Number(x) : x)));
      }
      setAt(path, isNum && !isNaN(Number(t)) ? Number(t) : t);
    });
    return el("label", {class: "field"}, label(name, s, required), input);
  }

  function jsonField(name, s, path, required) {
    const dp = path.join(".");
    const ta = el("textarea", {rows: 2, "data-path": dp, name: dp, placeholder: '{"name": value}'});
    const v = getAt(path);
    if (v !== undefined) ta.value = JSON.stringify(v);
    ta.addEventListener("change", () => {
      const t = ta.value.trim();
      if (!t) return setAt(path, undefined);
      try { setAt(path, JSON.parse(t)); ta.classList.remove("invalid"); } catch (e) { ta.classList.add("invalid"); }
    });
    return el("label", {class: "field"}, label(name, s, required), ta);
  }

  function objectField(name, s, path, required, nullable) {
    const props = s.properties || {};
    const req = new Set(s.required || []);
    const box = el("fieldset", {"data-path": path.join(".")}, el("legend", {text: (s.title || String(name)).replace(/_/g, " ")}));
    if (nullable && path.length) {
      const on = getAt(path) != null;
      const cb = el("input", {type: "checkbox", checked: on});
      cb.addEventListener("change", () => { setAt(path, cb.checked ? {} : undefined); draw(); });
      box.append(el("label", {class: "field check"}, cb, el("span", {text: "set " + String(name).replace(/_/g, " ")})));
      if (!on) return box;
    }
    for (const [k, ps] of Object.entries(props)) box.append(field(k, ps, [...path, k], req.has(k)));
    return box;
  }

  function arrayOfObjects(name, s, path, required, nullable) {
    const items = getAt(path) || [];
    const dp = path.join(".");
    const box = el("fieldset", {class: "array", "data-path": dp}, el("legend", {text: (s.title || String(name)).replace(/_/g, " ") + (required ? " *" : "")}));
    if (nullable) box.append(el("p", {class: "muted", text: s.description || "leave empty for the default"}));
    items.forEach((_, i) => {
      const item = resolve(s.items);
      const sub = objectField(`${name} ${i + 1}`, {...item, title: `${String(name).replace(/s$/, "")} ${i + 1}`}, [...path, i], true, false);
      const rm = el("button", {type: "button", class: "small", text: "remove"});
      rm.addEventListener("click", () => {
        const arr = getAt(path); arr.splice(i, 1);
        if (!arr.length && nullable) setAt(path, undefined); else syncJson();
        draw();
      });
      sub.append(rm);
      box.append(sub);
    });
    const add = el("button", {type: "button", class: "small", text: "add " + String(name).replace(/_/g, " ").replace(/s$/, "")});
    add.addEventListener("click", () => { const arr = getAt(path) || []; arr.push({}); setAt(path, arr); draw(); });
    box.append(add);
    return box;
  }

  function field(name, raw, path, required) {
    const {s, nullable} = unwrap(raw);
    if (s.type === "object" || s.properties) {
      if (!s.properties && s.additionalProperties) return jsonField(name, s, path, required);
      return objectField(name, s, path, required, nullable);
    }
    if (s.type === "array" && s.items && resolve(s.items).properties) return arrayOfObjects(name, s, path, required, nullable);
    return primitive(name, s, path, required, nullable);
  }

  function clean(v) {
    if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(clean);
    if (v && typeof v === "object") {
      const o = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = clean(x);
      return o;
    }
    return v;
  }
  function syncJson() { const ta = document.getElementById("spec-json"); if (ta) ta.value = JSON.stringify(clean(model), null, 1); }

  function draw() {
    const form = document.getElementById("spec-form");
    const props = schema.properties || {};
    const req = new Set(schema.required || []);
    form.replaceChildren(...Object.entries(props).map(([k, ps]) => field(k, ps, [k], req.has(k))));
    syncJson();
  }

  function status(text, cls) { const s = document.getElementById("spec-status"); s.textContent = text; s.className = cls || ""; }

  function showProblems(errors) {
    const form = document.getElementById("spec-form");
    form.querySelectorAll(".field-error").forEach((e) => e.remove());
    form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
    for (const e of errors) {
      let parts = (e.field || "").split("."), target = null;
      while (parts.length && !target) {
        target = form.querySelector(`[data-path="${CSS.escape(parts.join("."))}"]`);
        if (!target) parts = parts.slice(0, -1);
      }
      const text = `${e.field ? e.field + ": " : ""}${e.message}${e.value ? ` (value ${e.value})` : ""}${e.accepted ? `; accepted: ${e.accepted}` : ""}`;
      const msg = el("span", {class: "field-error", role: "alert", "data-for": e.field || "", text});
      if (target) {
        target.classList.add("invalid");
        if (target.tagName === "FIELDSET") target.prepend(msg); else target.after(msg);
      } else form.prepend(msg);
    }
  }

  async function validate() {
    const r = await fetch(`/api/v1/validate/${kind}`, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(clean(model))});
    const d = await r.json();
    const errors = r.ok ? d.errors : (d.errors || []);
    showProblems(errors);
    status(errors.length ? `${errors.length} problem(s): see the fields marked in red` : "the spec is valid", errors.length ? "bad" : "good");
    return errors.length === 0;
  }

  async function run() {
    if (!(await validate())) return;
    const body = {kind, spec: clean(model)};
    if (kind === "simulate") {
      const n = Number(document.getElementById("opt-subjects").value || 0);
      const d = document.getElementById("opt-days").value;
      body.subjects = n || null; body.days = d ? Number(d) : null;
      body.seed = Number(document.getElementById("opt-seed").value || 0);
    }
    status("submitting…");
    const r = await fetch("/api/v1/jobs", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const d = await r.json();
    if (r.status === 202) { window.location.href = `/jobs/${d.id}`; return; }
    const errs = d.errors || [{message: "error " + r.status}];
    showProblems(errs);
    status(errs.map((e) => e.message).join("; "), "bad");
  }

  async function init() {
    const app = document.getElementById("spec-app");
    if (!app) return;
    kind = app.dataset.kind;
    const [s, ex] = await Promise.all([fetch(`/api/v1/schema/${kind}`).then((r) => r.json()),
      fetch(`/api/v1/examples/${kind}`).then((r) => r.json())]);
    schema = s; examples = ex;
    const sel = document.getElementById("preset");
    sel.replaceChildren(...Object.keys(examples).map((k) => el("option", {value: k, text: k})));
    document.getElementById("load-preset").addEventListener("click", () => { model = structuredClone(examples[sel.value] || {}); draw(); status("example loaded: " + sel.value); });
    document.getElementById("validate").addEventListener("click", validate);
    document.getElementById("submit").addEventListener("click", run);
    document.getElementById("from-json").addEventListener("click", () => {
      try { model = JSON.parse(document.getElementById("spec-json").value); draw(); status("JSON loaded"); } catch (e) { status("not valid JSON: " + e.message, "bad"); }
    });
    const first = Object.keys(examples)[0];
    model = first ? structuredClone(examples[first]) : {};
    draw();
    app.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", init);
})();
