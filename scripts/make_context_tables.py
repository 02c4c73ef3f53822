"""Generate exomir's compact context++ tables from TargetScan 7's published files.

Reads ``../shared/data/targetscan_sample/TA_SPS_by_seed_region.txt`` (TA and SPS for all 16,384
7-nt seed regions; Garcia 2011 doi:10.1038/nsmb.2115 SPS/TA as used by Agarwal 2015
doi:10.7554/eLife.05005) and ``Agarwal_2015_parameters.txt`` (context++ coefficients with
per-site-type min/max scaling, Agarwal 2015 Supplementary File 1/TargetScan 7 code) and writes
``src/exomir/cargo/data/ta_sps.json`` (values x1000 as integers in seed-index order: seed
nt 2-8 read as a base-4 number with A=0, C=1, G=2, U=3) and
``src/exomir/cargo/data/context_pp_agarwal2015.json``.

Usage: python scripts/make_context_tables.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import json
import sys
from itertools import product
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
TS = SRC / "targetscan_sample"
OUT = REPO / "src" / "exomir" / "cargo" / "data"
CITE = ("Agarwal V, Bell GW, Nam JW, Bartel DP (2015) Predicting effective microRNA target "
        "sites in mammalian mRNAs. eLife 4:e05005. doi:10.7554/eLife.05005")


def main() -> None:
    rows = {}
    for i, line in enumerate((TS / "TA_SPS_by_seed_region.txt").read_text().splitlines()):
        if i == 0 or not line.strip():
            continue
        seed, sps1, sps2, ta = line.split("\t")[:4]
        rows[seed] = (round(float(sps1) * 1000), round(float(sps2) * 1000), round(float(ta) * 1000))
    seeds = ["".join(p) for p in product("ACGU", repeat=7)]
    missing = [s for s in seeds if s not in rows]
    if missing:
        raise SystemExit(f"{len(missing)} seeds missing, e.g. {missing[:3]}")
    out = {
        "source": CITE + "; TA and SPS per seed region as distributed with TargetScan 7 "
                  "(TA_SPS_by_seed_region.txt), SPS from Garcia 2011 doi:10.1038/nsmb.2115",
        "order": "seed nt 2-8 as base-4 number, A=0 C=1 G=2 U=3 (AAAAAAA first)",
        "scale": 1000,
        "sps_8mer_7mer_m8": [rows[s][0] for s in seeds],
        "sps_7mer_a1_6mer": [rows[s][1] for s in seeds],
        "ta": [rows[s][2] for s in seeds],
    }
    (OUT / "ta_sps.json").write_text(json.dumps(out, separators=(",", ":")))
    lines = (TS / "Agarwal_2015_parameters.txt").read_text().splitlines()
    types = ["8mer", "7mer-m8", "7mer-A1", "6mer"]
    feats: dict[str, dict[str, dict[str, float | None]]] = {}
    for line in lines[1:]:
        f = (line.split("\t") + [""] * 13)[:13]
        name = f[0]
        feats[name] = {}
        for j, t in enumerate(types):
            def num(x: str) -> float | None:
                return float(x) if x.strip() else None
            feats[name][t] = {"coeff": num(f[1 + j]), "min": num(f[5 + j]), "max": num(f[9 + j])}
    (OUT / "context_pp_agarwal2015.json").write_text(json.dumps(
        {"source": CITE + " (context++ coefficients and min/max scaling; Supplementary File 1, "
                          "as used by TargetScan 7 targetscan_70_context_scores.pl)",
         "unit": "log2 fold change per unit scaled feature",
         "features": feats}, indent=1))
    print("wrote", OUT / "ta_sps.json", OUT / "context_pp_agarwal2015.json")


if __name__ == "__main__":
    main()
