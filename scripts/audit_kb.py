"""Audit the shipped knowledge base against its source rows (``../shared/data/studies.csv``).

Twelve checks per row (61 rows, 732 fields), each comparing the curated record with the row's
own text, notes included:

indication, year, identifiers (DOI/PMID/PMCID as written), urls (every page read, in order),
cargo (every miRNA the cargo text names, or none for a profile), direction (pathogenic /
inhibited rows inhibit, sponges inhibit, nothing inhibited is delivered), targets (every gene
of the target text), pairs (every interaction of the row names a miRNA and gene of the row,
'strong' only where the row reports validation of that pair), pathways (every tag has a
whole-word match or curated synonym in the row), species, confidence (as written, or a
documented correction), gates (every note that bars a use is recorded as an exclusion).

Run from the repository root: ``python scripts/audit_kb.py [--shared ../shared/data]``;
prints the totals and every mismatch. Tests import :func:`audit`.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from exomir.core import CargoKind, Study
from exomir.core.mirna import find_mirna_names, mirna_matches

HERE = Path(__file__).resolve().parent
FIELDS = ("indication", "year", "identifiers", "urls", "cargo", "direction", "targets",
          "pairs", "pathways", "species", "confidence", "gates")


def _curation() -> Any:
    spec = importlib.util.spec_from_file_location("curate_kb", HERE / "curate_kb.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["curate_kb"] = mod
    spec.loader.exec_module(mod)
    return mod


def audit(shared: Path, kb: Any = None) -> dict[str, Any]:
    """{'fields': n, 'matches': m, 'by_field': {field: [match, total]}, 'mismatches': [...]}."""
    cur = _curation()
    if kb is None:
        from exomir.kb import embedded

        kb = embedded()
    with open(shared / "studies.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    inter: dict[str, list[Any]] = {}
    for i in kb.interactions(gated=False):
        inter.setdefault(i.study_id or "", []).append(i)
    by: dict[str, list[int]] = {f: [0, 0] for f in FIELDS}
    bad: list[str] = []
    for r in rows:
        s: Study = kb.get_study(r["id"])
        checks = _checks(cur, r, s, inter.get(r["id"], []))
        for f in FIELDS:
            ok, why = checks[f]
            by[f][1] += 1
            by[f][0] += int(ok)
            if not ok:
                bad.append(f"{r['id']} {f}: {why}")
    total = sum(t for _, t in by.values())
    return {"rows": len(rows), "fields": total, "matches": sum(m for m, _ in by.values()),
            "by_field": by, "mismatches": bad}


def _checks(cur: Any, r: dict[str, str], s: Study, pairs: list[Any]
            ) -> dict[str, tuple[bool, str]]:
    nr = cur.nr
    out: dict[str, tuple[bool, str]] = {}
    out["indication"] = (s.indication.value == r["indication"], s.indication.value)
    year = int(r["year"]) if nr(r["year"]) else None
    out["year"] = (s.year == year, str(s.year))
    ids = r["doi_or_pmid"].lower()
    src = s.source
    ok = all(x is None or x.lower() in ids for x in (src.doi, src.pmid, src.pmcid))
    ok = ok and (("doi:" not in ids) or src.doi is not None) and (
        ("pmid:" not in ids) or src.pmid is not None)
    out["identifiers"] = (ok, f"{src.doi} {src.pmid} {src.pmcid}")
    urls = [u.strip() for u in r["source_read"].split(" ; ") if nr(u)]
    out["urls"] = (src.urls == urls, f"{src.urls} vs {urls}")
    text = r["cargo_mirna"]
    low = text.lower()
    profile = low.startswith(("not characterized", "exosomal mirna profile",
                              "sev mirna profiles")) or bool(re.match(r"^\d+ ", low)) \
        or bool(re.search(r"names? not in", low))
    named = [n for c in s.cargo for n in (c.name, c.sponged_mirna) if n]
    if profile:
        out["cargo"] = (not s.cargo, "profile row with cargo")
    else:
        found = find_mirna_names(text)
        have = [m for n in named for m in find_mirna_names(n)]
        missing = [str(n) for n in found if not any(mirna_matches(n, h) or mirna_matches(h, n)
                                                   for h in have)]
        out["cargo"] = (bool(s.cargo) and not missing, f"missing {missing}")
    mode = r["cargo_mode"].lower()
    dirs = [c.direction.value if c.direction else None for c in s.cargo]
    if mode.startswith("inhibited"):
        ok = bool(dirs) and all(d == "inhibit" for d in dirs)
    else:
        ok = all(d == "inhibit" for c, d in zip(s.cargo, dirs, strict=True)
                 if c.kind == CargoKind.SPONGE) and not any(
            d == "deliver" and c.kind == CargoKind.MIRNA_INHIBITOR
            for c, d in zip(s.cargo, dirs, strict=True))
    out["direction"] = (ok, f"mode {mode!r} directions {dirs}")
    want = cur.parse_targets(r["target_genes"])
    out["targets"] = (s.target_genes == want, f"{s.target_genes} vs {want}")
    ok, why = True, ""
    texts = " ".join([r["outcome_summary"], r["pathway"]])
    for i in pairs:
        gene_ok = i.gene in want
        mir_ok = any(mirna_matches(n, m) or mirna_matches(m, n)
                     for n in find_mirna_names(i.mirna)
                     for m in find_mirna_names(" ".join([*named, text])))
        dropped = (r["id"], i.gene) in cur.DROP_PAIRS
        strong_ok = i.evidence.value != "strong" or (
            bool(cur.VALIDATION_WORDS.search(texts))
            and (r["id"], i.gene) not in cur.EVIDENCE_OVERRIDES)
        if not (gene_ok and mir_ok and strong_ok) or dropped:
            ok, why = False, f"{i.mirna}->{i.gene} {i.evidence.value}"
    for (sid, gene), _reason in cur.DROP_PAIRS.items():
        if sid == r["id"] and any(i.gene == gene for i in pairs):
            ok, why = False, f"dropped pair {gene} present"
    out["pairs"] = (ok, why)
    joined = " ".join([r["pathway"], r["target_genes"]]).lower()
    unsupported = [t for t in s.pathways
                   if not any(tag == t and rx.search(joined) for tag, rx in cur._TAG_RES)]
    out["pathways"] = (not unsupported, f"unsupported {unsupported}")
    sp = cur.parse_species(r["species"])
    out["species"] = (s.subject.species == sp, str(s.subject.species))
    want_conf = cur.CONFIDENCE_OVERRIDES.get(r["id"], (r["confidence"],))[0]
    conf = s.confidence.value if s.confidence else None
    out["confidence"] = (conf == getattr(want_conf, "value", want_conf), str(conf))
    have_x = {e.reason for e in s.exclusions}
    missing_x = [reason.value for field, pat, reason in cur.NOTE_TRIGGERS
                 if re.search(pat, r[field], re.I) and reason not in have_x]
    out["gates"] = (not missing_x, f"notes without exclusion: {missing_x}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    res = audit(ap.parse_args().shared)
    print(f"{res['rows']} rows, {res['matches']} of {res['fields']} fields match "
          f"({100 * res['matches'] / res['fields']:.1f} %)")
    for f, (m, t) in res["by_field"].items():
        print(f"  {f:12s} {m}/{t}")
    for line in res["mismatches"]:
        print("  mismatch:", line)


if __name__ == "__main__":
    main()
