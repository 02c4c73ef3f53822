// A run's page: live progress by server-sent events, cancel, then the result.
"use strict";
(() => {
  const {el, fmt} = exomir;
  const box = document.getElementById("job");
  if (!box) return;
  const id = box.dataset.id, kind = box.dataset.kind;
  const $ = (x) => document.getElementById(x);
  let shown = false;

  function update(j) {
    box.dataset.updates = String(Number(box.dataset.updates || 0) + 1);
    if (j.progress > 0 && j.progress < 1) box.dataset.sawProgress = "1";
    $("job-status").textContent = j.status; $("job-status").className = "status-" + j.status;
    $("job-message").textContent = j.message;
    $("job-progress").value = j.progress; $("job-pct").textContent = Math.round(100 * j.progress) + " %";
    box.dataset.status = j.status;
    $("cancel").hidden = !(j.status === "queued" || j.status === "running");
    if (j.error) {
      const e = j.error;
      $("job-error").hidden = false;
      $("job-error").textContent = [e.message, e.field && "field: " + e.field, e.value && "value: " + e.value, e.accepted && "accepted: " + e.accepted].filter(Boolean).join(" · ");
    }
    if (j.status === "done" && !shown) { shown = true; result(j); }
  }

  async function result(j) {
    const out = $("job-result");
    if (kind === "design") {
      const r = j.result || {};
      out.append(el("p", {class: "lead", text: r.summary || ""}));
      for (const w of (r.warnings || []).filter((w) => w.severity === "critical")) out.append(el("p", {class: "error", text: "critical: " + w.message}));
      out.append(el("p", {}, el("a", {href: `/api/v1/jobs/${id}/report`, target: "_blank", id: "report-link", text: "open the report"}), " · ",
        el("a", {href: `/api/v1/jobs/${id}/report.json`, text: "report.json"})));
      out.append(el("iframe", {id: "report", src: `/api/v1/jobs/${id}/report`, title: "design report", class: "report"}));
      return;
    }
    const r = j.result || {};
    out.append(el("p", {class: "note", text: "note: " + (r.note || "")}));
    const tc = await (await fetch(`/api/v1/jobs/${id}/timecourse`)).json();
    const names = Object.keys(tc.series);
    const pick = el("select", {id: "series", "aria-label": "output"}, ...names.map((n) => el("option", {value: n, text: n.replace(/_/g, " ")})));
    const plot = el("div", {id: "timecourse", class: "plot"});
    out.append(el("h2", {text: "Time courses (median and 5–95 % band)"}), pick, plot);
    const draw = () => {
      const s = tc.series[pick.value], q = s.quantiles, t = tc.times_days;
      const traces = [
        {x: t, y: q["95"], mode: "lines", line: {width: 0}, name: "95th percentile", hoverinfo: "skip", showlegend: false},
        {x: t, y: q["5"], mode: "lines", line: {width: 0}, fill: "tonexty", fillcolor: "rgba(31,119,180,0.2)", name: "5–95 %"},
        {x: t, y: q["50"], mode: "lines", line: {color: "#1f77b4", width: 2}, name: "median"}];
      Plotly.react(plot, traces, {margin: {t: 20, r: 10}, xaxis: {title: {text: "day"}}, yaxis: {title: {text: `${pick.value} (${s.unit})`}}, legend: {orientation: "h"}}, {displaylogo: false, responsive: true});
    };
    const pref = names.find((n) => n.endsWith("_pct") || n.endsWith("_g")) || names[0];
    pick.value = pref; pick.addEventListener("change", draw); draw();
    const rows = (r.summary || []).map((m) => [m.metric, m.unit, m.median, m.p05, m.p95]);
    out.append(exomir.table(`${r.name}: ${r.subjects} subjects, ${r.days} days`, {columns: ["metric", "unit", "median", "5%", "95%"], rows}));
  }

  $("cancel").addEventListener("click", async () => {
    const r = await fetch(`/api/v1/jobs/${id}/cancel`, {method: "POST"});
    if (r.ok) update(await r.json());
  });

  fetch(`/api/v1/jobs/${id}`).then((r) => r.json()).then((j) => {
    update(j);
    if (j.status === "queued" || j.status === "running") {
      const es = new EventSource(`/api/v1/jobs/${id}/events`);
      es.addEventListener("progress", (ev) => update(JSON.parse(ev.data)));
      es.addEventListener("end", () => es.close());
      es.onerror = () => es.close();
    }
  });
})();
