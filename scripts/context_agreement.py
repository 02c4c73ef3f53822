"""Print the context++ agreement table of docs/cargo.md: exomir vs TargetScan 7's sample output.

For each of the five species of ``../shared/data/targetscan_sample/`` the sample UTRs are scanned
with the mature miRNAs of the families annotated in that species and scored with AIRs (rescaled
per species as TargetScan does), ORF lengths and 8mers, SA (ViennaRNA) and PCT (from the
alignment), once with ``targetscan_compat=True`` and once with exomir's defaults; every
contribution, the total and the weighted total are compared with
``output/Targets.BL_PCT.context_scores.txt`` (675 rows).

Usage: PYTHONPATH=src python scripts/context_agreement.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from exomir.cargo.conservation import conservation, site_pct
from exomir.cargo.context import FEATURE_COLUMNS, score_table
from exomir.cargo.isoforms import read_airs, scale_regions
from exomir.cargo.sites import scan
from exomir.formats import read_mir_family_info, read_targetscan_utrs

REPO = Path(__file__).resolve().parents[1]
D = (Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data") / \
    "targetscan_sample"
TS = {"intercept": "Site type contribution", "3P_score": "3' pairing contribution",
      "Local_AU": "local AU contribution", "Min_dist": "Min_dist contribution",
      **{f"sRNA{p}{b}": f"sRNA{p}{b} contribution" for p in (1, 8) for b in "ACG"},
      **{f"Site8{b}": f"site8{b} contribution" for b in "ACG"},
      "Len_3UTR": "3'UTR length contribution", "SA": "SA contribution",
      "Len_ORF": "ORF length contribution", "ORF8m": "ORF 8mer contribution",
      "Off6m": "Offset 6mer contribution", "TA_3UTR": "TA contribution",
      "SPS": "SPS contribution", "PCT": "PCT contribution",
      "context_score": "context++ score", "weighted_context_score": "weighted context++ score"}


def scores(compat: bool) -> pd.DataFrame:
    utrs_all = list(read_targetscan_utrs(D / "input" / "UTR_Sequences_sample.txt"))
    fams = list(read_mir_family_info(D / "input" / "miR_Family_info_sample.txt"))
    cons = conservation([(f.family, f.seed, f.taxa) for f in fams],
                        [(u.id, u.taxon, u.aligned) for u in utrs_all])
    mature = pd.read_csv(D / "input" / "miR_for_context_scores.sample.txt", sep="\t",
                         header=None, names=["fam", "sp", "id", "seq"])
    lens = pd.read_csv(D / "output" / "ORF_Sequences_sample.lengths.txt", sep="\t",
                       header=None, names=["g", "sp", "n"])
    orfs_all = list(read_targetscan_utrs(D / "input" / "ORF_Sequences_sample.txt"))
    airs = read_airs(D / "input" / "All_cell_lines.AIRs.txt")
    human = {u.id: len(u.sequence) for u in utrs_all if u.taxon == 9606}
    parts = []
    for taxon in sorted({u.taxon for u in utrs_all}):
        here = {f.family for f in fams if taxon in f.taxa}
        m = mature[(mature.sp == taxon) & mature.fam.isin(here)]
        mirs = list(zip(m.id, m.seq, strict=True))
        utrs = [(u.id, u.sequence) for u in utrs_all if u.taxon == taxon]
        a = {g: scale_regions(airs[g], human[g] / len(s)) for g, s in utrs if g in airs}
        table = scan(mirs, utrs)
        sc = score_table(table, utrs, mature=dict(mirs), airs=a, sa=True,
                         orf_lengths={g: int(n) for g, s, n in lens.itertuples(index=False)
                                      if s == taxon},
                         orfs=[(o.id, o.sequence) for o in orfs_all if o.taxon == taxon],
                         pct=site_pct(table, cons, taxon), targetscan_compat=compat)
        parts.append(sc.to_frame(table).assign(species=taxon))
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    ref = pd.read_csv(D / "output" / "Targets.BL_PCT.context_scores.txt", sep="\t")
    stats = {}
    for compat in (True, False):
        m = scores(compat).merge(ref, left_on=["target", "species", "mirna", "utr_start"],
                                 right_on=["Gene ID", "Species ID", "Mirbase ID", "UTR start"],
                                 how="inner")
        assert len(m) == len(ref) == 675, len(m)
        for ours, theirs in TS.items():
            d = (m[ours] - m[theirs]).abs().to_numpy()
            stats[(ours, compat)] = (d.max(), np.mean(d <= 0.0005 + 1e-9),
                                     np.mean(d <= 0.0015 + 1e-9))
    print("| term | compat: max abs diff | compat: rows exact (<= 0.0005) | compat: rows "
          "<= 0.0015 | default: max abs diff | default: rows <= 0.0015 |")
    print("|---|---|---|---|---|---|")
    for name in [*FEATURE_COLUMNS, "context_score", "weighted_context_score"]:
        c, d = stats[(name, True)], stats[(name, False)]
        print(f"| `{name}` | {c[0]:.4f} | {c[1]:.1%} | {c[2]:.1%} | {d[0]:.4f} | {d[2]:.1%} |")


if __name__ == "__main__":
    main()
