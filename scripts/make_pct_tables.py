"""Generate exomir's PCT table (conservation of miRNA sites) from TargetScan 7's parameters.

Reads ``../shared/tools/targetscan7/PCT_parameters/``: ``{8mer,7mer_m8,7mer_1a}_PCT_parameters.txt``
(per conserved seed family b0..b3 of PCT = b0 + b1 / (1 + exp(-b2 * BL + b3)); Friedman 2009
doi:10.1101/gr.082701.108, refit for TargetScan 7 by V. Agarwal, Agarwal 2015
doi:10.7554/eLife.05005), ``Tree.generic.txt`` (the 84-species 3'UTR tree used to bin UTRs by
conservation) and ``Tree.bin_01..10.txt`` (one tree per conservation bin, branch lengths in
substitutions per site), and writes ``src/exomir/cargo/data/pct_targetscan7.json`` with the trees
re-expressed as parent/branch-length arrays (leaves named by NCBI taxon id). The bin thresholds
(median branch length of the UTR) and the per-site-type branch-length thresholds for calling a
site conserved are the constants of TargetScan 7's ``targetscan_70_BL_bins.pl`` and
``targetscan_70_BL_PCT.pl`` (TargetScanHuman).

Usage: python scripts/make_pct_tables.py [TARGETSCAN7_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "tools" / "targetscan7"
PARAMS = SRC / "PCT_parameters"
OUT = REPO / "src" / "exomir" / "cargo" / "data" / "pct_targetscan7.json"


def parse_newick(text: str) -> dict[str, list[float | int | None]]:
    """Parent index, branch length and leaf taxon of every node (root first, parent -1)."""
    s = "".join(text.split()).rstrip(";")
    parent: list[int] = []
    length: list[float] = []
    taxon: list[int | None] = []
    stack: list[int] = []
    last = -1  # the node a following ":length" belongs to
    i = 0
    while i < len(s):
        c = s[i]
        if c == "(":
            parent.append(stack[-1] if stack else -1)
            length.append(0.0)
            taxon.append(None)
            stack.append(len(parent) - 1)
            i += 1
        elif c == ")":
            last = stack.pop()
            i += 1
        elif c == ",":
            i += 1
        elif c == ":":
            j = i + 1
            while j < len(s) and s[j] not in ",)":
                j += 1
            length[last] = float(s[i + 1:j])
            i = j
        else:
            j = i
            while j < len(s) and s[j] not in ",):":
                j += 1
            parent.append(stack[-1])
            length.append(0.0)
            taxon.append(int(s[i:j]))
            last = len(parent) - 1
            i = j
    return {"parent": parent, "length": length, "taxon": taxon}


def main() -> None:
    trees = {"generic": parse_newick((PARAMS / "Tree.generic.txt").read_text())}
    for b in range(1, 11):
        trees[str(b)] = parse_newick((PARAMS / f"Tree.bin_{b:02d}.txt").read_text())
    params: dict[str, dict[str, list[float]]] = {}
    for name, typ in (("8mer", "8mer"), ("7mer_m8", "7mer-m8"), ("7mer_1a", "7mer-A1")):
        rows = (PARAMS / f"{name}_PCT_parameters.txt").read_text().splitlines()[1:]
        params[typ] = {f[0]: [float(x) for x in f[1:5]]
                       for f in (r.split("\t") for r in rows if r.strip())}
    out = {
        "source": "TargetScan 7 PCT_parameters (Friedman 2009 doi:10.1101/gr.082701.108; "
                  "parameters and trees for TargetScan 7 by V. Agarwal, Agarwal 2015 "
                  "doi:10.7554/eLife.05005); thresholds from targetscan_70_BL_bins.pl and "
                  "targetscan_70_BL_PCT.pl (TargetScanHuman)",
        "pct": "b0 + b1 / (1 + exp(-b2 * BL + b3)), rounded to 4 dp, negative -> 0",
        "params": params,
        "bin_thresholds": [0, 1.21207417, 2.17396073, 2.80215414, 3.26272822, 3.65499277,
                           4.01461968, 4.40729032, 4.90457274, 5.78196252],
        "conserved_bl": {"8mer": 1.8, "7mer-m8": 2.8, "7mer-A1": 3.6},
        "reference_taxon": 9606,
        "trees": trees,
    }
    OUT.write_text(json.dumps(out, separators=(",", ":")))
    print("wrote", OUT, f"({OUT.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
