"""Run a design: evidence -> cargo -> arms on the same subjects -> paired comparison ->
product -> provenance, and the decision first in the report."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from exomir import __version__
from exomir.core import CargoMode
from exomir.design.arms import ArmSet, candidate_therapy, outcome_at, run_arms, standalone
from exomir.design.beside import Beside
from exomir.design.cargo_part import CargoPlan, cargo_section
from exomir.design.compare import minimal_important_difference, rank
from exomir.design.decision_part import decision_section, dose_separation, separation
from exomir.design.evidence_part import evidence_section
from exomir.design.product_part import product_section
from exomir.design.provenance_part import provenance_section
from exomir.design.simulate_part import CandidateRun, designs_section, runs_from_arms
from exomir.design.spec import DesignSpec
from exomir.design.uncertainty_part import GlobalAnalysis, global_section, uncertainty
from exomir.design.uncertainty_part import sensitivity as global_sensitivity
from exomir.design.validation_part import validation_section
from exomir.report import Report, Section, Warning_, write_report

NEGLIGIBLE_KNOCKDOWN = 0.05  # below this peak knockdown a design is reported as without effect


def slug(name: str) -> str:
    """A file name for a candidate (letters, digits and dashes only)."""
    s = "".join(ch.lower() if ch.isalnum() else "-" for ch in name)
    s = "-".join(p for p in s.split("-") if p)
    return s[:60] or "candidate"


@dataclass
class DesignResult:
    spec: DesignSpec
    report: Report
    runs: list[CandidateRun]
    arms: ArmSet
    plan: CargoPlan

    def candidate_specs(self) -> dict[str, dict[str, Any]]:
        """Each candidate as a complete simulate spec (with the targets the design used)."""
        return {c.name: candidate_therapy(self.spec, c, self.plan)[0]
                for c in self.spec.candidates}

    def write(self, out_dir: Path) -> dict[str, Path]:
        """report.html, report.json, figures/ and candidates/*.yaml (run alone with
        ``exomir simulate``)."""
        paths = write_report(self.report, out_dir)
        cdir = out_dir / "candidates"
        cdir.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        for name, full in self.candidate_specs().items():
            data, note = standalone(full)
            base = slug(name)
            s, k = base, 2
            while s in used:
                s, k = f"{base}-{k}", k + 1
            used.add(s)
            head = (f"# candidate {name!r} of design {self.spec.name!r}, as a simulate spec:\n"
                    f"#   exomir simulate {s}.yaml --subjects {self.spec.subjects} "
                    f"--seed {self.spec.seed}\n")
            if note:
                head += f"# note: {note}\n"
            head = "".join(ln if ln.startswith("#") else f"# {ln}"
                           for ln in head.splitlines(keepends=True))
            (cdir / f"{s}.yaml").write_text(head + yaml.safe_dump(data, sort_keys=False),
                                            encoding="utf-8")
        paths["candidates"] = cdir
        return paths


def canonical(name: str, plan: CargoPlan) -> str:
    """A cargo name as the ranking spells it (one name per miRNA)."""
    from exomir.cargo.evidence import canonical_name

    return canonical_name(name, "hsa", plan.mature or set(plan.interactions["mirna"]))


def _science_warnings(spec: DesignSpec, runs: list[CandidateRun], designs: Section,
                      product_warnings: list[tuple[str, str]], plan: CargoPlan,
                      validation: Section) -> list[Warning_]:
    out: list[Warning_] = []
    cands = designs.data["candidates"]
    if spec.legacy_candidates:
        out.append(Warning_(
            "Deprecated candidate form (route, dose_particles, times_days, source_cell at the "
            "top level) in: " + ", ".join(spec.legacy_candidates) + ". It was read and "
            "converted; write candidates as simulate specs (product, cargo, delivery, regimen; "
            "docs/design.md) -- the files in candidates/ next to this report show the new form.",
            severity="info"))
    for r in runs:
        name = r.design.name
        native = any(c.mode is CargoMode.NATIVE for c in (r.design.cargo or [])) \
            or r.design.cargo is None
        if r.copies_per_vesicle < 1:
            out.append(Warning_(
                f"{name}: {r.copies_per_vesicle:.3g} miRNA copies per vesicle, i.e. one copy "
                f"per {1 / max(r.copies_per_vesicle, 1e-12):,.0f} vesicles"
                + (" (native stoichiometry, Chevillet 2014 doi:10.1073/pnas.1408301111)"
                   if native else "") + ": most target cells receive no copy of this miRNA.",
                severity="critical"))
        kd = cands[name]["peak_knockdown"]
        best = max((v[0] for v in kd.values() if v is not None), default=0.0)
        if best < NEGLIGIBLE_KNOCKDOWN:
            out.append(Warning_(
                f"{name}: median peak knockdown {best:.1%} of every target: any benefit of this "
                "design in the model comes from the vesicle and vehicle effects, not from this "
                "miRNA (see the attribution in 'Designs compared').", severity="caution"))
        if not r.targets:
            out.append(Warning_(f"{name}: its cargo hits none of the indication's intended "
                                "targets in the interaction data.", severity="caution"))
        for c in r.design.cargo or []:
            canon = canonical(c.name, plan)
            mod = plan.modality.get(canon)
            if mod == "inhibitor":
                out.append(Warning_(
                    f"{name}: the evidence for this indication supports inhibiting {canon} "
                    "(antagomiR, sponge, knockdown), not delivering it; this design delivers it "
                    "as a mimic (see 'Cargo').", severity="critical"))
            elif mod is None and plan.modality:
                out.append(Warning_(
                    f"{name}: no study of this indication that passes the evidence gates says "
                    f"whether {canon} should be delivered or inhibited; delivering it is a "
                    "hypothesis (see 'Cargo').", severity="caution"))
    for sev, w in product_warnings:
        out.append(Warning_(w, severity=sev))
    held = validation.data["held_out"]
    counts = validation.data["parameter_counts"]
    out.append(Warning_(
        f"The body model behind these numbers has {counts['calibrated']} parameters fitted to "
        "published PK summaries and group means ("
        + ", ".join(validation.data["calibration_problems"]) + ") "
        f"and {counts['assumption']} assumptions with ranges (cell-level uptake, RISC, pathway "
        f"and outcome links among them); of its {held['total']} held-out checks for this "
        f"indication {held['fail']} fail (see 'Calibration and validation').",
        severity="caution"))
    return out


def run_design(spec: DesignSpec, progress: Callable[[str], None] | None = None,
               *, kb: Any = None, concurrent: bool = False) -> DesignResult:
    """Compute every section of the design report (no files written).

    ``kb``: the knowledge base to read (default: the user's, ``exomir.kb.open_kb()``).
    ``concurrent``: run the global sensitivity in a forked child process beside the later
    sections (:mod:`exomir.design.beside`; the CLI does); the report is the same either way
    apart from the timings it states.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = _run_design(spec, progress, kb, caught if concurrent else None)
    notes = list(dict.fromkeys(str(w.message) for w in caught
                               if issubclass(w.category, UserWarning)))
    if notes:
        warns = result.report.sections[-1]
        for msg in notes:
            warns.blocks.insert(0, Warning_(f"From the simulator: {msg}", severity="info"))
        warns.data["warnings"] = [{"severity": w.severity, "message": w.message}
                                  for w in warns.blocks if isinstance(w, Warning_)]
    return result


def _run_design(spec: DesignSpec, progress: Callable[[str], None] | None, kb: Any,
                caught: list[warnings.WarningMessage] | None = None) -> DesignResult:
    """``caught``: the run's warning record; given, the global sensitivity runs beside the
    later sections and its warnings are put back where a serial run records them."""
    say = progress or (lambda _msg: None)
    if kb is None:
        from exomir.kb import open_kb

        kb = open_kb()
    say("evidence: querying the knowledge base and pooling arm-level data")
    studies = kb.studies(indication=spec.indication)
    ev = evidence_section(spec, studies, kb)
    say("cargo: ranking miRNAs and combinations")
    cargo, plan = cargo_section(spec, kb)
    arms = run_arms(spec, plan, say)
    runs = runs_from_arms(spec, arms)
    day = spec.headline_day
    from exomir.design.arms import outcome_key

    _, unit, _ = outcome_key(arms.untreated.result)
    mid = minimal_important_difference(spec, outcome_at(arms.untreated.result, day), unit)
    settings = spec.global_settings
    ga = uncertainty(spec, arms, settings, say) if settings is not None else None
    ranking = rank({a.name: outcome_at(a.result, day) for a in arms.candidates}, mid.value,
                   uncertainty=ga.pair_bands if ga is not None else None)
    pending: Beside[tuple[GlobalAnalysis, Section, list[tuple[str, type[Warning]]]]] | None = None
    glob: Section | None = None
    if ga is not None and caught is not None:
        say("global sensitivity (beside the remaining sections)")
        mark = len(caught)
        pending = Beside(_global_part, spec, arms, ga, ranking.recommended, unit)
    elif ga is not None:
        ga = global_sensitivity(spec, arms, ga, ranking.recommended, say)
    try:
        extra: dict[str, Any] = {}
        designs = designs_section(spec, plan, arms, mid, ranking, say, extra)
        say("separation: what would tell tied candidates apart")
        sep = separation(spec, plan, arms, designs.data, ranking, mid)
        say("product: doses, human-equivalent dose, production plan")
        product, pw = product_section(spec, runs)
        say("assumptions: parameter tables")
        prov = provenance_section(spec, plan, runs)
        say("calibration and validation: fitted parameters, held-out checks")
        valid = validation_section(spec, runs)
    except BaseException:
        if pending is not None:
            pending.discard()
        raise
    if pending is not None and caught is not None:
        (ga, glob, later), recorded = pending.result()
        caught[mark:mark] = [warnings.WarningMessage(m, c, "", 0) for m, c in recorded]
        caught.extend(warnings.WarningMessage(m, c, "", 0) for m, c in later)
    elif ga is not None:
        glob = global_section(spec, ga, unit)
    warns = Section("Warnings", blocks=list(_science_warnings(spec, runs, designs, pw, plan,
                                                              valid)))
    warns.data["warnings"] = [{"severity": w.severity, "message": w.message}
                              for w in warns.blocks if isinstance(w, Warning_)]
    syn = ev.data.get("synthesis") or {}
    evidence = {"studies": len(studies), "headline": syn.get("headline"),
                "kept_out": syn.get("kept_out", []), "pooled": ev.data.get("pooled"),
                "database": (ev.data.get("database") or {}).get("database")}
    decision = decision_section(spec, arms, designs.data, ranking, mid, sep,
                                best_cargo=plan.best[0], evidence=evidence, analysis=ga,
                                dose_sep=dose_separation(ranking.recommended,
                                                         extra.get("dose_outcomes"), mid))
    report = Report(
        title=f"exomir design report: {spec.name}",
        subtitle=f"{spec.indication.value.replace('_', ' ')} · {spec.species.value} · "
                 f"{spec.subjects} virtual subjects per arm · {spec.days:g} days",
        sections=[decision, designs, *([glob] if glob is not None else []), cargo, ev, product,
                  valid, prov, warns],
        meta={"version": __version__,
              "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "spec": spec.model_dump(mode="json")})
    return DesignResult(spec=spec, report=report, runs=runs, arms=arms, plan=plan)


def _global_part(spec: DesignSpec, arms: ArmSet, ga: GlobalAnalysis, recommended: list[str],
                 unit: str) -> tuple[GlobalAnalysis, Section, list[tuple[str, type[Warning]]]]:
    """The global sensitivity and its report section (with its figures); run in the child by
    ``_run_design(..., caught)``. The section's warnings come back apart, since a serial run
    builds the section after the validation section."""
    ga = global_sensitivity(spec, arms, ga, recommended, lambda _msg: None)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always", UserWarning)
        glob = global_section(spec, ga, unit)
    return ga, glob, [(str(w.message), w.category) for w in got]


def to_json(result: DesignResult) -> dict[str, Any]:
    return result.report.to_json()
