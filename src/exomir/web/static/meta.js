"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const ind = document.getElementById("meta-indication");
  const out = document.getElementById("meta-outcome");
  if (!ind || !out) return;
  ind.addEventListener("change", async () => {
    out.replaceChildren(exomir.el("option", {value: "", text: "—"}));
    if (!ind.value) return;
    const r = await fetch("/api/v1/meta/outcomes?indication=" + encodeURIComponent(ind.value));
    const d = await r.json();
    for (const o of d.outcomes || []) out.append(exomir.el("option", {value: o.measure, text: `${o.measure} (${o.studies} ${o.studies === 1 ? "study" : "studies"} with data: ${o.main} pass the gates, ${o.subgroup} subgroup only, ${o.kept_out} kept out)`}));
  });
});
