"""Population time courses for display: the median and a percentile band of each output over
time, across the virtual subjects of a :class:`~exomir.body.simulate.Result`.

``band[q][t] = percentile_q({y_i(t) : subjects i})`` (numpy's linear interpolation), for the
observables (knockdown per gene, pathway activity, outcome) and the exposure states
(plasma and tissues, as % of the injected dose). Pure function over a result; the web app
draws these with plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from exomir.body.model import TISSUES
from exomir.body.simulate import Result


def time_course_bands(result: Result, quantiles: Sequence[float] = (5.0, 50.0, 95.0),
                      max_points: int = 400) -> dict[str, Any]:
    """``{"times_days": [...], "series": {name: {"unit", "quantiles": {q: [...]}}}}``; at
    most ``max_points`` time points (evenly thinned, last point kept)."""
    t = result.times
    idx = np.arange(t.size)
    if t.size > max_points:
        idx = np.unique(np.linspace(0, t.size - 1, max_points).round().astype(int))
    series: dict[str, dict[str, Any]] = {}

    def add(name: str, unit: str, y: np.ndarray) -> None:
        qs = np.percentile(y[:, idx], list(quantiles), axis=0)
        series[name] = {"unit": unit, "quantiles": {f"{q:g}": [float(v) for v in row]
                                                    for q, row in zip(quantiles, qs,
                                                                      strict=True)}}

    for name, y in result.observables().items():
        unit = ("%" if name.endswith("_pct") else "g" if name.endswith("_g")
                else "s" if name.endswith("_s") else "fraction")
        add(name, unit, y)
    dose = np.maximum(result.params["dose"], 1.0)[:, None]
    for s in ["plasma", *TISSUES]:
        if s in result.model.index:
            add(f"exposure_{s}", "%ID", 100.0 * result.state(s) / dose)
    return {"times_days": [float(x) for x in t[idx]], "subjects": int(result.Y.shape[0]),
            "series": series}
