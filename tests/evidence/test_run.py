"""evidence.run.meta_analysis gives the CLI's JSON for the same CSV and options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exomir.cli import app
from exomir.evidence.run import meta_analysis, read_meta_csv

CSV = ("study,m1i,sd1i,n1i,m2i,sd2i,n2i,grp,x\n"
       "a,5.1,1.2,10,3.9,1.1,10,g1,1\nb,4.8,1.5,8,4.1,1.4,8,g2,2\n"
       "c,6.0,1.0,12,4.0,1.3,12,g1,3\nd,5.5,2.0,6,5.2,1.8,6,g2,4\n"
       "e,4.9,1.1,15,3.5,1.2,14,g1,5\n")


@pytest.mark.parametrize("opts", [
    {"measure": "SMD", "method": "REML"},
    {"measure": "MD", "method": "DL", "knha": True, "bias": True, "loo": True},
    {"measure": "ROM", "method": "PM", "by": "grp"},
    {"measure": "SMD", "method": "REML", "mods": ["x"]},
])
def test_same_json_as_cli(tmp_path: Path, opts: dict) -> None:  # type: ignore[type-arg]
    f = tmp_path / "d.csv"
    f.write_text(CSV)
    args = ["evidence", "meta", "--data", str(f), "--measure", opts["measure"], "--method",
            opts["method"], "--format", "json"]
    if opts.get("knha"):
        args.append("--knha")
    if opts.get("bias"):
        args.append("--bias")
    if opts.get("loo"):
        args.append("--leave1out")
    if opts.get("by"):
        args += ["--by", opts["by"]]
    if opts.get("mods"):
        args += ["--mods", ",".join(opts["mods"])]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    run = meta_analysis(read_meta_csv(f), **opts)
    assert json.loads(json.dumps(run.data, default=float)) == json.loads(res.output)


def test_kb_meta_needs_a_meta_analysis_for_bias() -> None:
    """The shipped wound pool is no meta-analysis: asking for small-study tests is an error
    naming why (the CLI), or with strict=False a 'not run' line and the same synthesis."""
    from exomir.core.errors import InputError
    from exomir.evidence.run import kb_meta
    from exomir.kb import embedded

    plain = kb_meta(embedded(), "diabetic_wound", "wound_closure")
    assert plain.run is None and plain.not_run == [] and plain.data["main"]["kind"] == "none"
    with pytest.raises(InputError) as e:
        kb_meta(embedded(), "diabetic_wound", "wound_closure", bias=True)
    assert "need a meta-analysis" in str(e.value) and "k = 0" in str(e.value)
    soft = kb_meta(embedded(), "diabetic_wound", "wound_closure", bias=True, loo=True,
                   strict=False)
    assert soft.data == plain.data
    assert soft.not_run == ["not run: --bias, --leave1out (need a meta-analysis; the "
                            "diabetic_wound pool has k = 0 (none))"]
    with pytest.raises(InputError) as e:
        kb_meta(embedded(), "diabetic_wound", "wound_closure", measure="OR")
    assert e.value.field == "--measure"
