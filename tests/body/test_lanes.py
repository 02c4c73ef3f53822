"""The lane compiler's vector exp and log (exomir.body.lanes.vector_math) against libm.

The compiled engine evaluates every exp and log of the model (release, wound closure,
pathway effects) with these written-out vector functions instead of libm's scalar calls, so
they are checked here directly: within 2 units in the last place of Python's math.exp and
math.log (libm) over the whole double range, and the special values (0, negative, inf, nan,
overflow and underflow thresholds, subnormals) as IEEE 754 / libm give them.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.body import lanes

L = lanes.LANES


@pytest.fixture(scope="module")
def vmath() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    V = f"<{L} x double>"
    wrappers = []
    for fn in ("exp", "log"):
        wrappers.append(
            f"define void @t_{fn}(i64 %a, i64 %b) {{\nentry:\n"
            f"  %pa = inttoptr i64 %a to ptr\n  %pb = inttoptr i64 %b to ptr\n"
            f"  %x = load {V}, ptr %pa, align 8\n  %y = call {V} @v{fn}({V} %x)\n"
            f"  store {V} %y, ptr %pb, align 8\n  ret void\n}}\n")
    text = lanes.vector_math(L) + "\n" + "\n".join(wrappers)
    addr = lanes.compile_module(text, ["t_exp", "t_log"], None)
    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for fn in ("exp", "log"):
        cf = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64)(addr[f"t_{fn}"])

        def run(x: np.ndarray, cf: object = cf) -> np.ndarray:
            x = np.asarray(x, dtype=float).ravel()
            pad = np.zeros(-(-x.size // L) * L)
            pad[:x.size] = x
            y = np.empty_like(pad)
            for a in range(0, pad.size, L):
                cf(pad[a:].ctypes.data, y[a:].ctypes.data)  # type: ignore[operator]
            return y[:x.size]

        out[fn] = run
    return out


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Distance in units in the last place of ``ref`` (finite values)."""
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def test_exp_within_two_ulp_of_libm(vmath: dict) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-745.0, 709.7, 20000), rng.uniform(-1, 1, 5000),
                        rng.uniform(-1e-8, 1e-8, 2000), np.arange(-700, 700, 0.5),
                        [0.0, -0.0, 1.0, -1.0, 1e-300, 709.78, -708.0]])
    ref = np.array([math.exp(v) for v in x])
    got = vmath["exp"](x)
    ok = ref > 0
    assert np.max(_ulps(got[ok], ref[ok])) <= 2.0


def test_log_within_two_ulp_of_libm(vmath: dict) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(1)
    x = np.concatenate([10.0 ** rng.uniform(-307, 308, 20000), rng.uniform(0.5, 2.0, 5000),
                        1.0 + rng.uniform(-1e-6, 1e-6, 2000), [1.0, 2.0, 0.5, math.e, 1e-310,
                                                               5e-324, 1.7976931348623157e308]])
    ref = np.array([math.log(v) for v in x])
    got = vmath["log"](x)
    nz = ref != 0
    assert np.max(_ulps(got[nz], ref[nz])) <= 2.0
    assert np.all(got[~nz] == 0.0)


def test_special_values(vmath: dict) -> None:  # type: ignore[type-arg]
    e = vmath["exp"](np.array([np.inf, -np.inf, np.nan, 710.0, -746.0, 1000.0, -1000.0]))
    assert e[0] == np.inf and e[1] == 0.0 and np.isnan(e[2])
    assert e[3] == np.inf and e[4] == 0.0 and e[5] == np.inf and e[6] == 0.0
    lg = vmath["log"](np.array([0.0, -0.0, -1.0, np.inf, np.nan, -np.inf]))
    assert lg[0] == -np.inf and lg[1] == -np.inf and np.isnan(lg[2])
    assert lg[3] == np.inf and np.isnan(lg[4]) and np.isnan(lg[5])


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-745.0, max_value=709.7, allow_nan=False))
def test_exp_property(vmath: dict, x: float) -> None:  # type: ignore[type-arg]
    ref = math.exp(x)
    got = float(vmath["exp"](np.array([x]))[0])
    if ref == 0.0:
        assert got == 0.0
    else:
        assert abs(got - ref) <= 2.0 * float(np.spacing(ref))


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_nan=False,
                 allow_infinity=False))
def test_log_property(vmath: dict, x: float) -> None:  # type: ignore[type-arg]
    ref = math.log(x)
    got = float(vmath["log"](np.array([x]))[0])
    assert abs(got - ref) <= 2.0 * float(np.spacing(abs(ref))) or got == ref
