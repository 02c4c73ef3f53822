"""Regenerate the SYNTHETIC example NTA exports in this folder (not instrument data).

batch_A_nanosight.csv: NanoSight-style per-capture bin table (3 captures, 1-nm bins), measured
at 1:1000 dilution. batch_B_zetaview.csv: ZetaView-style table (5-nm bins), 1:500 dilution,
with a small aggregate population near 400 nm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def lognormal(x: np.ndarray, median: float, gsd: float) -> np.ndarray:
    s = np.log(gsd)
    return np.exp(-((np.log(x) - np.log(median)) ** 2) / (2 * s * s)) / (x * s)


def main() -> None:
    rng = np.random.default_rng(7)
    x = np.arange(0.5, 1000.5, 1.0)
    base = lognormal(x, 110.0, 1.35)
    base = base / base.sum() * 2.5e8  # particles/mL in the diluted sample
    caps = [np.round(base * rng.normal(1.0, 0.06) * rng.normal(1.0, 0.05, x.size)) for _ in
            range(3)]
    lines = ["# SYNTHETIC example for exomir docs/tests - generated, not instrument data",
             "Sample ID,batch_A (synthetic)", "Dilution factor,1000", "Capture duration (s),60",
             "",
             "Bin centre (nm),Concentration (particles / ml) 1,Concentration (particles / ml) 2,"
             "Concentration (particles / ml) 3,Concentration average,Standard Error"]
    for i, xi in enumerate(x):
        vals = [c[i] for c in caps]
        lines.append(f"{xi:g}," + ",".join(f"{max(v, 0):.0f}" for v in vals)
                     + f",{np.mean(vals):.1f},{np.std(vals, ddof=1) / np.sqrt(3):.1f}")
    (HERE / "batch_A_nanosight.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    xb = np.arange(2.5, 1000, 5.0)
    b = lognormal(xb, 125.0, 1.45) + 0.08 * lognormal(xb, 400.0, 1.2)
    b = b / b.sum() * 4.0e8
    lines = ["# SYNTHETIC example for exomir docs/tests - generated, not instrument data",
             "Sample,batch_B (synthetic)", "Dilution,500", "",
             "Size / nm,Number,Concentration / cm-3"]
    for xi, c in zip(xb, b, strict=True):
        lines.append(f"{xi:g},{round(c / 4e8 * 2000)},{c:.4e}")
    (HERE / "batch_B_zetaview.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
