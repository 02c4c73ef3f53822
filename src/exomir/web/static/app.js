// exomir: tool forms post to the JSON API and show its tables, figures and notes.
"use strict";
const exomir = (() => {
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v; else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") {
      if (!isFinite(v)) return "—";
      if (Number.isInteger(v)) return String(v);
      const a = Math.abs(v);
      return (a !== 0 && (a >= 1e5 || a < 1e-3)) ? v.toExponential(3) : String(+v.toPrecision(4));
    }
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function csv(columns, rows) {
    const q = (x) => { const s = x === null || x === undefined ? "" : (typeof x === "object" ? JSON.stringify(x) : String(x));
      return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    return [columns.map(q).join(","), ...rows.map((r) => r.map(q).join(","))].join("\n") + "\n";
  }
  function download(name, text, type) {
    const a = el("a", {href: URL.createObjectURL(new Blob([text], {type})), download: name, text: name});
    a.className = "dl";
    return a;
  }
  function table(title, t) {
    const head = el("tr", {}, ...t.columns.map((c) => el("th", {text: c})));
    const body = t.rows.map((r) => el("tr", {}, ...r.map((v) => el("td", {text: fmt(v), class: typeof v === "number" ? "num" : null}))));
    const slug = title.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase() || "table";
    return el("div", {class: "result-table"}, el("h3", {text: title}),
      el("table", {class: "data", "data-table": slug}, el("thead", {}, head), el("tbody", {}, ...body)),
      el("p", {class: "downloads"}, "Download ", download(slug + ".csv", csv(t.columns, t.rows), "text/csv")));
  }
  function figure(name, svg) {
    const img = el("img", {alt: name + " plot", "data-figure": name, class: "figure",
      src: "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)))});
    return el("figure", {}, img, el("figcaption", {text: name}));
  }
  function showErrors(form, target, body, status) {
    target.replaceChildren();
    form.querySelectorAll(".field-error").forEach((e) => e.remove());
    form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
    const errs = (body && body.errors && body.errors.length) ? body.errors : [{message: (body && body.error && body.error.message) || ("error " + status)}];
    for (const e of errs) {
      const parts = [e.message];
      if (e.field) parts.push("field: " + e.field);
      if (e.value) parts.push("value: " + e.value);
      if (e.accepted) parts.push("accepted: " + e.accepted);
      if (e.source) parts.push("file: " + e.source + (e.line ? ", line " + e.line : ""));
      target.append(el("div", {class: "error", role: "alert", text: parts.join(" · ")}));
      const name = (e.field || "").replace(/^--/, "").split(".")[0];
      const input = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (input) { input.classList.add("invalid"); input.after(el("span", {class: "field-error", text: e.message})); }
    }
  }
  function render(target, data) {
    target.replaceChildren();
    if (data.pooled) {
      const p = data.pooled;
      target.append(el("p", {class: "pooled", id: "pooled-estimate", "data-estimate": String(p.estimate),
        "data-ci-lb": String(p.ci_lb), "data-ci-ub": String(p.ci_ub),
        text: `Pooled ${p.measure} (${p.method}${p.test === "knha" ? ", Knapp-Hartung" : ""}, k = ${p.k}): ${fmt(p.estimate)} [${fmt(p.ci_lb)}, ${fmt(p.ci_ub)}]`}));
    }
    if (!data.pooled && data.kind) {
      target.append(el("p", {class: "pooled nopool", id: "no-pool", "data-kind": data.kind,
        text: data.kind === "single study" ? "A single study: not a meta-analysis, nothing pooled (its comparisons are shown with their own CIs)."
          : "No pooled estimate: no study passing the evidence gates has usable arm-level data."}));
    }
    if (data.headline) target.append(el("p", {class: "lead", id: "headline", text: data.headline}));
    for (const w of data.warnings || []) target.append(el("p", {class: "note warning", text: "warning: " + w}));
    for (const n of data.notes || []) target.append(el("p", {class: "note", text: n}));
    if (data.published_note) target.append(el("p", {class: "note", text: "Published syntheses: " + data.published_note}));
    for (const [name, svg] of Object.entries(data.figures || {})) target.append(figure(name, svg));
    for (const [title, t] of Object.entries(data.tables || {})) target.append(table(title, t));
    target.append(el("p", {class: "downloads"}, "All numbers: ", download("result.json", JSON.stringify(data.result ?? data, null, 1), "application/json")));
  }
  async function submit(form) {
    const target = document.querySelector(form.dataset.target);
    const method = form.dataset.method || "POST";
    const fd = new FormData(form);
    for (const [k, v] of [...fd.entries()]) {
      if ((v instanceof File && !v.name && v.size === 0) || v === "") fd.delete(k);
    }
    form.querySelectorAll('input[type=checkbox][name]').forEach((c) => { if (!c.checked) fd.set(c.name, "false"); });
    let url = form.dataset.api, init = {method, headers: {Accept: "application/json"}};
    if (method === "GET") {
      url += "?" + new URLSearchParams([...fd.entries()].filter(([, v]) => typeof v === "string")).toString();
    } else if (form.dataset.encoding === "json") {
      const obj = {};
      for (const [k, v] of fd.entries()) {
        const input = form.querySelector(`[name="${CSS.escape(k)}"]`);
        obj[k] = input && input.type === "number" ? Number(v) : v;
      }
      init.body = JSON.stringify(obj);
      init.headers["Content-Type"] = "application/json";
    } else {
      init.body = fd;
    }
    target.replaceChildren(el("p", {class: "busy", text: "working…"}));
    form.querySelectorAll(".field-error").forEach((e) => e.remove());
    const resp = await fetch(url, init);
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) { showErrors(form, target, body, resp.status); return null; }
    render(target, body);
    form.dispatchEvent(new CustomEvent("exomir:result", {detail: body}));
    return body;
  }
  function init() {
    document.querySelectorAll("form.tool").forEach((form) => {
      form.addEventListener("submit", (ev) => { ev.preventDefault(); submit(form); });
    });
    document.querySelectorAll(".ts[data-ts]").forEach((e) => {
      e.textContent = new Date(1000 * Number(e.dataset.ts)).toLocaleString();
    });
  }
  document.addEventListener("DOMContentLoaded", init);
  return {el, fmt, csv, download, table, figure, render, showErrors};
})();
