"""Every number the body model reads is in a parameter table with a unit and provenance.

Checked three ways: (1) the tables themselves (unit, group, a source, a calibration or an
assumption with a range; CVs with their own provenance); (2) the indication profiles hold no
number outside their `parameters` rows (pathway weights and exponents included); (3) the
generated model code (the compiled kernel's right-hand side and Jacobian) contains no numeric
literal except the structural 0, 1 and numerical floors, and every flat parameter is a table
row, a formula over table rows or a number from the spec. The docs' parameter tables are
generated from the same tables (checked current).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml

from exomir.body import build_model, load_spec
from exomir.body.kernel import generate
from exomir.body.model import Evaluator
from exomir.body.params import docs_markdown, parameter_table
from exomir.body.sbml import to_sbml
from exomir.body.simulate import elimination_order
from exomir.body.solver import SparseBatchLU

from .helpers import make_spec

ROOT = Path(__file__).resolve().parents[2]
GROUPS = {"PK", "CSF", "routes", "vehicle", "repeat dosing", "cell uptake", "RISC",
          "target genes", "vesicle bioactivity", "dose", "mechanism switches",
          "pathway weights", "outcome", "calibration design", "reporting"}


@pytest.mark.parametrize("species", ["mouse", "rat", "human"])
@pytest.mark.parametrize("indication", ["diabetic_wound", "neuropathic_pain"])
def test_every_parameter_has_unit_group_and_provenance(indication: str, species: str) -> None:
    tab = parameter_table(indication, species)
    for p in tab:
        assert p.group in GROUPS, (p.name, p.group)
        assert np.isfinite(p.value)
        assert p.description, p.name
        if p.assumption:
            assert p.low is not None and p.high is not None and p.low <= p.high, p.name
        else:
            assert p.source or p.calibrated, p.name
        if p.calibrated:  # names the data it came from
            assert len(p.calibrated) > 10 and (p.source or "doi" in p.calibrated), p.name
        if p.cv is not None:
            assert p.cv_source or (p.cv_low is not None and p.cv_high is not None), p.name
    cvs = tab.cv_parameters()
    assert cvs and all(c.group == "population variability" for c in cvs)


def _numbers_outside_parameters(node: object, path: str = "") -> list[str]:
    if isinstance(node, bool):
        return []
    if isinstance(node, int | float):
        return [path]
    if isinstance(node, dict):
        return [x for k, v in node.items() if k != "parameters"
                for x in _numbers_outside_parameters(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in _numbers_outside_parameters(v,
                                                                                   f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("indication", ["diabetic_wound", "neuropathic_pain"])
def test_profiles_hold_no_number_outside_the_table(indication: str) -> None:
    ref = resources.files("exomir.body").joinpath("data", "profiles", f"{indication}.yaml")
    data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    assert _numbers_outside_parameters(data) == []
    tab = parameter_table(indication)
    for pw in data["pathways"]:
        assert f"pw_{pw['name']}_weight" in tab
        for g in pw["genes"]:
            assert f"pw_{pw['name']}_{g}" in tab


STRUCTURAL = {0.0, 1.0, 1e-12, 1e-7, 1e-6}


@pytest.mark.parametrize("spec", [
    ROOT / "examples" / "diabetic_wound_hydrogel.yaml",
    ROOT / "examples" / "neuropathic_pain_intrathecal.yaml",
    "iv_two_mirnas"])
def test_model_code_reads_no_number_outside_the_tables(spec: object) -> None:
    if spec == "iv_two_mirnas":
        s = make_spec(route="intravenous", dose=1e10, cargo=[
            {"kind": "mirna", "name": "hsa-miR-146a-5p", "copies_per_vesicle": 20},
            {"kind": "mirna", "name": "hsa-miR-21-5p"}],
            body={"targets": [{"gene": "IRAK1", "mirna": "hsa-miR-146a-5p", "log2fc": -0.5},
                              {"gene": "PTEN", "mirna": "hsa-miR-21-5p", "log2fc": -0.4},
                              {"gene": "PTEN", "mirna": "hsa-miR-146a-5p", "log2fc": -0.1}]})
    else:
        s = load_spec(spec)  # type: ignore[arg-type]
    model = build_model(s)
    flat = model.flat_params(None, 1)
    ev = Evaluator(model, flat)
    src, _ = generate(model, ev, SparseBatchLU(len(model.species), ev.pattern,
                                               elimination_order(model)))
    body = src[src.index("def _F"):src.index("def _one")]
    body = re.sub(r"\b[pyVJ]\[\d+\]|\b(?:DT|dy|out|aux)\[\d+\]|\b[a-zA-Z_]+\d+(?:_\d+)?\b",
                  "", body)
    literals = {float(x) for x in re.findall(r"(?<![\w.])\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+",
                                             body)}
    assert literals <= STRUCTURAL, literals - STRUCTURAL
    table = set(model.table.names())
    for k in flat:
        assert k in table or k in model.derived or k in model.constants, k
    for k, expr in model.derived.items():
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr)) - {"ln", "sqrt", "exp"}
        assert names <= table | set(model.derived) | set(model.constants), (k, names)
        assert not re.search(r"(?<![\w.])\d*\.\d+|\b[2-9]\d*\b", expr.replace("ln(2)", "")), \
            (k, expr)
    xml = to_sbml(model)
    assert xml.count("<parameter ") >= len(flat)


def test_docs_parameter_tables_are_current() -> None:
    """docs/body.md carries the generated tables (``exomir.body.params.docs_markdown``)."""
    text = (ROOT / "docs" / "body.md").read_text(encoding="utf-8")
    assert docs_markdown() in text
