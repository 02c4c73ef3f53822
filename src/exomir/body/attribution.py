"""Where the predicted benefit comes from: miRNA, vesicle and vehicle shares of the gain.

The three benefit structures of the body model are switched by the table parameters
``mech_mirna``, ``mech_vesicle`` and ``mech_vehicle`` (docs/body.md, "Mechanisms"). For each
virtual subject the outcome y(S) is simulated for all 2³ = 8 combinations S of switched-on
mechanisms: the same drawn parameters (the subject's own), one batch of 8 N subjects, one
compiled kernel. The gain over untreated, y(all) − y(∅), is split by the **Shapley value**
of the three switches (Shapley 1953; each mechanism's marginal effect averaged over the
orders in which the mechanisms can be switched on):

    φ_i = Σ_{S ⊆ M∖{i}} |S|! (3 − |S| − 1)! / 3! · [y(S ∪ {i}) − y(S)],

which sums exactly to the total (efficiency) for every subject. The read-out day, the
negligible gain and the "small miRNA share" threshold of the wording are table rows (group
"reporting"). Also reported: the "switch
one off" deltas y(all) − y(all ∖ {i}). y(∅) — every mechanism off — is the untreated outcome
(:func:`exomir.body.simulate.untreated_spec`; a test holds the two equal to the solver's
tolerance). A mechanism the spec switches off stays off in every combination (share 0).
Higher read-outs are better for both indications (closure %, withdrawal threshold/latency),
so a positive gain is a benefit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from exomir.body.model import BodyModel, build_model
from exomir.body.simulate import draw_parameters, simulate
from exomir.body.spec import BodySpec
from exomir.core import ReleaseProfile

MECHANISMS = ("mirna", "vesicle", "vehicle")
LABELS = {"mirna": "miRNA knockdown", "vesicle": "vesicle bioactivity (cargo-independent)",
          "vehicle": "vehicle/dressing"}
# reporting conventions are table rows (group "reporting"): report_day,
# report_negligible_gain, report_small_mirna_share


def coalitions() -> list[tuple[int, int, int]]:
    """The 8 on/off combinations of (mirna, vesicle, vehicle), ∅ first, all last."""
    combos = [(a, b, c) for a, b, c in itertools.product((0, 1), repeat=3)]
    return sorted(combos, key=lambda c: (sum(c), c))


def shapley(values: Mapping[tuple[int, int, int], np.ndarray]) -> np.ndarray:
    """Shapley values (3, N) of the three switches from y(S) for every coalition S."""
    n = 3
    fact = [1, 1, 2, 6]
    out = np.zeros((n, len(next(iter(values.values())))))
    for i in range(n):
        for s in coalitions():
            if s[i]:
                continue
            k = sum(s)
            w = fact[k] * fact[n - k - 1] / fact[n]
            with_i = tuple(1 if j == i else s[j] for j in range(n))
            out[i] += w * (values[with_i] - values[s])  # type: ignore[index]
    return out


def _band(x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"median": float("nan"), "p05": float("nan"), "p95": float("nan")}
    return {"median": float(np.median(x)), "p05": float(np.percentile(x, 5)),
            "p95": float(np.percentile(x, 95))}


@dataclass
class ReadoutAttribution:
    """Attribution of one read-out at one day, per subject."""

    observable: str
    unit: str
    day: float
    values: dict[tuple[int, int, int], np.ndarray]  # outcome per coalition, (N,)
    contributions: np.ndarray  # Shapley (3, N)
    switch_off: np.ndarray  # y(all) - y(all without i), (3, N)
    enabled: tuple[bool, bool, bool]
    negligible: float = 0.0  # gain (outcome units) below which there is no meaningful gain
    small_share: float = 0.25  # miRNA share below which the statement opens by saying so

    @property
    def untreated(self) -> np.ndarray:
        return self.values[(0, 0, 0)]

    @property
    def treated(self) -> np.ndarray:
        return self.values[tuple(int(e) for e in self.enabled)]  # type: ignore[index]

    @property
    def total(self) -> np.ndarray:
        return self.treated - self.untreated

    def shares(self) -> np.ndarray:
        """Per-subject fraction of the gain per mechanism (3, N); NaN where the gain is
        negligible (the fraction is then not defined)."""
        tot = self.total
        eps = max(self.negligible, 1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):
            sh = self.contributions / tot
        sh[:, np.abs(tot) < eps] = np.nan
        return sh

    def no_gain(self) -> bool:
        return abs(float(np.median(self.total))) < max(self.negligible, 1e-12)

    def to_dict(self) -> dict[str, Any]:
        sh = self.shares()
        return {
            "observable": self.observable, "unit": self.unit, "day": self.day,
            "method": "Shapley value over the switches mech_mirna, mech_vesicle, mech_vehicle "
                      "(8 combinations of the same subjects); sums exactly to the gain",
            "untreated": _band(self.untreated), "treated": _band(self.treated),
            "gain": _band(self.total),
            "mechanisms": {m: {"label": LABELS[m], "enabled": bool(self.enabled[i]),
                               "contribution": _band(self.contributions[i]),
                               "share_of_gain": _band(sh[i]),
                               "switch_off_delta": _band(self.switch_off[i])}
                           for i, m in enumerate(MECHANISMS)},
            "subjects_with_gain": int(np.isfinite(sh[0]).sum()),
            "statement": self.statement(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per subject: outcome untreated/treated, gain, contribution and share per
        mechanism, switch-off deltas."""
        sh = self.shares()
        data: dict[str, Any] = {"subject": np.arange(self.total.size),
                                "observable": self.observable, "day": self.day,
                                "untreated": self.untreated, "treated": self.treated,
                                "gain": self.total}
        for i, m in enumerate(MECHANISMS):
            data[f"contribution_{m}"] = self.contributions[i]
            data[f"share_{m}"] = sh[i]
            data[f"switch_off_{m}"] = self.switch_off[i]
        return pd.DataFrame(data)

    def statement(self) -> str:
        """One sentence whose wording follows the numbers (the miRNA share first when it is
        small)."""
        g = _band(self.total)
        head = (f"{self.observable} day {self.day:g}: gain over untreated {g['median']:+.3g} "
                f"{self.unit} [{g['p05']:+.3g} to {g['p95']:+.3g}]")
        if self.no_gain():
            return f"No meaningful predicted gain: {head}."
        sh = self.shares()
        med = {m: _band(sh[i]) for i, m in enumerate(MECHANISMS)}

        def pct(m: str) -> str:
            b = med[m]
            return f"{100 * b['median']:.0f} % [{100 * b['p05']:.0f}-{100 * b['p95']:.0f}]"

        others = sorted(("vesicle", "vehicle"), key=lambda m: -abs(med[m]["median"]))
        rest = "; ".join(f"{LABELS[m]} {pct(m)}" for m in others)
        if not self.enabled[0]:
            return f"The miRNA mechanism is switched off; {head}: {rest}."
        if med["mirna"]["median"] < self.small_share:
            return (f"The miRNA cargo explains little of the predicted benefit: miRNA "
                    f"{pct('mirna')} of the gain; most comes from {rest} ({head}).")
        return f"miRNA knockdown {pct('mirna')} of the gain; {rest} ({head})."


@dataclass
class Attribution:
    """Attribution of every read-out of a spec (primary first)."""

    model: BodyModel
    readouts: list[ReadoutAttribution]
    n_subjects: int
    seed: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> ReadoutAttribution:
        return self.readouts[0]

    def to_dict(self) -> dict[str, Any]:
        return {"subjects": self.n_subjects, "seed": self.seed,
                "readouts": [r.to_dict() for r in self.readouts], "notes": self.notes}

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([r.to_frame() for r in self.readouts], ignore_index=True)

    def statements(self) -> list[str]:
        return [r.statement() for r in self.readouts]


def attribute(
    spec: BodySpec | BodyModel,
    n_subjects: int = 200,
    seed: int | None = 0,
    *,
    day: float | None = None,
    variability: bool = True,
    overrides: Mapping[str, float | np.ndarray] | None = None,
    release: ReleaseProfile | None = None,
    rtol: float = 1e-6,
    engine: Literal["auto", "compiled", "numpy"] = "auto",
    threads: int | None = None,
) -> Attribution:
    """Split the outcome gain over untreated into miRNA / vesicle / vehicle shares.

    ``day``: read-out day (default: 14 for wounds, 21 for pain, or the last simulated day).
    The subjects are the same as ``simulate(spec, n_subjects, seed=seed)`` draws.
    """
    model = spec if isinstance(spec, BodyModel) else build_model(spec, release)
    horizon = model.days
    d = float(day) if day is not None else min(model.table.value("report_day"), horizon)
    if not 0 < d <= horizon:
        from exomir.core import InputError

        raise InputError("read-out day outside the simulated window", field="day", value=day,
                         accepted=f"0 < day <= {horizon:g}")
    n = int(n_subjects)
    vals = draw_parameters(model, n, seed, variability)
    for k, v in (overrides or {}).items():
        vals[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
    enabled = tuple(bool(model.table.value(f"mech_{m}")) for m in MECHANISMS)
    combos = coalitions()
    big: dict[str, np.ndarray] = {k: np.tile(v, len(combos)) for k, v in vals.items()}
    for i, m in enumerate(MECHANISMS):  # a switch's own value when on (1 unless overridden)
        big[f"mech_{m}"] = np.concatenate([vals[f"mech_{m}"] * float(c[i]) for c in combos])
    times = np.unique(np.concatenate([[0.0, d], np.linspace(0.0, horizon, 5)]))
    res = simulate(model, n * len(combos), variability=False, overrides=big, times=times,
                   rtol=rtol, engine=engine, threads=threads)
    obs = res.observables()
    ti = int(np.searchsorted(times, d))
    readouts = []
    for key, unit in res.outcome_keys():
        y = obs[key][:, ti]
        values = {c: y[k * n:(k + 1) * n] for k, c in enumerate(combos)}
        phi = shapley(values)
        allc = tuple(int(e) for e in enabled)
        off = np.zeros((3, n))
        for i in range(3):
            wo = tuple(0 if j == i else allc[j] for j in range(3))
            off[i] = values[allc] - values[wo]  # type: ignore[index]
        readouts.append(ReadoutAttribution(
            key, unit, d, values, phi, off, enabled,  # type: ignore[arg-type]
            negligible=model.table.value("report_negligible_gain"),
            small_share=model.table.value("report_small_mirna_share")))
    notes = [f"{n} subjects x 8 mechanism combinations in one batch (seed {seed})"]
    return Attribution(model=model, readouts=readouts, n_subjects=n, seed=seed, notes=notes)
