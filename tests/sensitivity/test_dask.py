"""The Dask engine on a 2-worker LocalCluster: the same numbers as the local engine, also when
a worker is killed in the middle of a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exomir.sensitivity.analysis import run_sensitivity
from exomir.sensitivity.engine import DaskEngine, LocalEngine, get_engine, run_chunks
from exomir.sensitivity.evaluate import BodyEvaluator
from exomir.sensitivity.problem import SensitivityProblem

from .helpers import WOUND, KillOnce, model

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=50)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _setup() -> tuple[SensitivityProblem, BodyEvaluator]:
    m = model(WOUND)
    prob = SensitivityProblem.from_table(m.table, names=[
        "ec50_ev", "f_escape", "k_endosome", "vmax_cell_uptake", "k_effect",
        "diabetic_heal_factor"])
    return prob, BodyEvaluator(m, prob.names)


def test_dask_sobol_is_bit_identical_to_local(client: Any) -> None:
    prob, ev = _setup()
    eng = DaskEngine(client)
    dask = run_sensitivity(prob, ev, n=16, seed=7, engine=eng, chunk_size=40)
    local = run_sensitivity(prob, ev, n=16, seed=7, engine=LocalEngine(), chunk_size=256)
    assert "2 workers" in dask.engine and dask.engine.startswith("dask")
    num = [c for c in local.indices.columns if c not in ("output", "label", "constant")]
    assert local.indices[["output", "label"]].equals(dask.indices[["output", "label"]])
    assert np.array_equal(local.indices[num].to_numpy(), dask.indices[num].to_numpy())
    assert local.second is not None and dask.second is not None
    assert np.array_equal(local.second[["S2", "S2_conf"]].to_numpy(),
                          dask.second[["S2", "S2_conf"]].to_numpy())
    assert set(eng.warm_s) == set(eng.workers())  # warmed on every worker


def test_killed_worker_chunks_are_retried_with_identical_results(client: Any,
                                                                 tmp_path: Path) -> None:
    prob, ev = _setup()
    X = prob.transform(np.random.default_rng(1).random((120, prob.k)))
    ref = run_chunks(LocalEngine(), ev, X, chunk_size=10)
    killer = KillOnce(ev, str(tmp_path / "marks"), after=3)
    got = run_chunks(DaskEngine(client), killer, X, chunk_size=10)
    assert (tmp_path / "marks" / "killed").exists(), "no worker was killed"
    assert np.array_equal(got, ref)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker


def test_scheduler_from_environment(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    monkeypatch.setenv("EXOMIR_DASK_SCHEDULER", client.scheduler.address)
    eng = get_engine(None)
    try:
        assert isinstance(eng, DaskEngine) and eng.address == client.scheduler.address
    finally:
        eng.close()
    monkeypatch.setenv("EXOMIR_DASK_SCHEDULER", "local")
    assert isinstance(get_engine(None), LocalEngine)


def test_bad_scheduler_address_is_an_input_error() -> None:
    from exomir.core import InputError

    with pytest.raises(InputError, match="not a scheduler address"):
        get_engine("localhost")
