"""Analytic test functions with known Sobol' indices (the pipeline's reference checks).

* Ishigami (Ishigami & Homma 1990): f = sin x1 + a sin² x2 + b x3⁴ sin x1, x_i ~ U(−π, π),
  a = 7, b = 0.1. V1 = ½(1 + bπ⁴/5)², V2 = a²/8, V13 = b²π⁸·8/225, V = a²/8 + bπ⁴/5 +
  b²π⁸/18 + ½; S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437), S13 = 0.2437.
* Sobol' G (Saltelli & Sobol' 1995): f = Π (|4x_i − 2| + a_i)/(1 + a_i), x_i ~ U(0, 1).
  V_i = 1/(3(1 + a_i)²), V = Π(1 + V_i) − 1, S_i = V_i/V, ST_i = V_i Π_{j≠i}(1 + V_j)/V.
* ``linear_inert``: y = Σ c_i x_i with some c_i = 0 (Morris must rank those last).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exomir.sensitivity.problem import SensitivityProblem

ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1
SOBOL_G_A = (78.0, 12.0, 0.5, 2.0, 97.0, 33.0)


def ishigami(X: np.ndarray) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    return (np.sin(x[:, 0]) + ISHIGAMI_A * np.sin(x[:, 1]) ** 2
            + ISHIGAMI_B * x[:, 2] ** 4 * np.sin(x[:, 0]))


def ishigami_problem() -> SensitivityProblem:
    return SensitivityProblem.from_bounds(["x1", "x2", "x3"], [(-np.pi, np.pi)] * 3)


def ishigami_indices() -> dict[str, np.ndarray]:
    """Analytic S1, ST (3,) and S2 (3, 3; upper triangle) of the Ishigami function."""
    a, b, pi = ISHIGAMI_A, ISHIGAMI_B, np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * 8 / 225
    v = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    s2 = np.full((3, 3), np.nan)
    s2[0, 1], s2[0, 2], s2[1, 2] = 0.0, v13 / v, 0.0
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v,
            "S2": s2}


class SobolG:
    """The Sobol' G function for coefficients ``a`` (picklable, for any engine)."""

    def __init__(self, a: Sequence[float] = SOBOL_G_A) -> None:
        self.a = np.asarray(a, dtype=float)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        x = np.asarray(X, dtype=float)
        return np.prod((np.abs(4 * x - 2) + self.a) / (1 + self.a), axis=1)

    def problem(self) -> SensitivityProblem:
        k = len(self.a)
        return SensitivityProblem.from_bounds([f"x{i + 1}" for i in range(k)], [(0.0, 1.0)] * k)

    def indices(self) -> dict[str, np.ndarray]:
        vi = 1.0 / (3.0 * (1.0 + self.a) ** 2)
        v = np.prod(1.0 + vi) - 1.0
        st = np.array([vi[i] * np.prod(np.delete(1.0 + vi, i)) for i in range(len(vi))]) / v
        return {"S1": vi / v, "ST": st}


class LinearInert:
    """y = Σ c_i x_i on U(0, 1); factors with c_i = 0 do nothing."""

    def __init__(self, c: Sequence[float]) -> None:
        self.c = np.asarray(c, dtype=float)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.c

    def problem(self) -> SensitivityProblem:
        k = len(self.c)
        return SensitivityProblem.from_bounds([f"x{i + 1}" for i in range(k)], [(0.0, 1.0)] * k)
