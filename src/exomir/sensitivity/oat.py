"""One-at-a-time sensitivity: the headline of a typical subject with each assumed parameter at
the low and at the high end of its range, the others nominal (moved here from the design
report; the global analyses in :mod:`exomir.sensitivity.analysis` supersede it).

All 2k + 1 subjects (nominal, then low/high per parameter) run in one batched
:func:`exomir.body.simulate.simulate` call on a model built once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from exomir.core import Parameter


def one_at_a_time(spec: Any, day: float, *, release: Any = None,
                  progress: Callable[[str], None] | None = None,
                  parameters: list[Parameter] | None = None) -> list[dict[str, Any]]:
    """Rows {parameter, low, high, unit, headline_low, headline_high, base, swing}, largest
    swing first. ``spec``: a BodySpec or BodyModel; ``parameters``: default the table's
    assumptions with a range (low < high), mechanism switches left out (not uncertainties)."""
    from exomir.body.model import BodyModel, build_model
    from exomir.body.simulate import simulate
    from exomir.sensitivity.evaluate import OutputContext

    model = spec if isinstance(spec, BodyModel) else build_model(spec, release)
    from exomir.sensitivity.problem import is_switch

    params = [p for p in (parameters if parameters is not None else model.table.assumptions())
              if p.low is not None and p.high is not None and p.low != p.high
              and not is_switch(p)]
    names = [p.name for p in params]
    n = 2 * len(params) + 1
    X = np.repeat(np.array([[p.value for p in params]]), n, axis=0)
    for i, p in enumerate(params):
        X[1 + 2 * i, i], X[2 + 2 * i, i] = p.low, p.high
    if progress is not None:
        progress(f"sensitivity: {len(params)} assumed parameters at their range ends "
                 f"({n} subjects)")
    times = None
    if 0 < day <= model.days:
        from exomir.body.simulate import default_times

        times = np.unique(np.concatenate([default_times(model.days), [day]]))

    def headline(rows: np.ndarray) -> np.ndarray:
        res = simulate(model, len(rows), variability=False, times=times,
                       overrides={nm: rows[:, i] for i, nm in enumerate(names)})
        return OutputContext(model, day, res).outcome(res)

    try:
        y = headline(X)
    except RuntimeError:  # a failing subject: solve one at a time and leave it out
        y = np.full(n, np.nan)
        for k in range(n):
            try:
                y[k] = headline(X[k:k + 1])[0]
            except RuntimeError:
                continue
    base = float(y[0])
    out: list[dict[str, Any]] = []
    for i, p in enumerate(params):
        lo, hi = float(y[1 + 2 * i]), float(y[2 + 2 * i])
        if np.isnan(lo) or np.isnan(hi):
            continue
        out.append({"parameter": p.name, "low": p.low, "high": p.high, "unit": p.unit,
                    "headline_low": lo, "headline_high": hi, "base": base,
                    "swing": abs(hi - lo)})
    out.sort(key=lambda o: -float(o["swing"]))
    return out
