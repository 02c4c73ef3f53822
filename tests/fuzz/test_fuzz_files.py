"""Fuzz every command that reads a user file (issue 17).

Two parts, both in-process (typer's CliRunner, the root app, as the installed script runs):

* ``test_adversarial``: each command x each file every reader must refuse or handle (empty,
  blank, binary, NUL, zip, Latin-1, UTF-16, 100k-deep JSON, 5k-deep YAML, billion laughs,
  recursive alias, a 200k-character cell, an open quote, a 3 MB line, header only, rich markup,
  a directory, a missing file, /dev/zero);
* ``test_mutations``: hypothesis mutates each command's valid base file (truncation, bit flips,
  hostile tokens in place of numbers and values, dropped/duplicated lines, BOM, UTF-16,
  Latin-1, CRLF).

Both assert the contract of :func:`tests.fuzz.harness.problems`: exit 0 or 2 (1 where
documented), no traceback, one error line (+ hint), bounded time, and the knowledge base
unchanged when a writing command fails. The hypothesis budget is ``EXOMIR_FUZZ_EXAMPLES``
examples per command (default 8; derandomised, so CI is reproducible; raise it for a deep run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.commands import COMMANDS, Cmd, prepare
from tests.fuzz.harness import HOSTILE, MUTATORS, NUMBERS, adversarial_files, assert_ok, run_cli

EXAMPLES_PER_COMMAND = int(os.environ.get("EXOMIR_FUZZ_EXAMPLES", "8"))
ADVERSARIAL = ("empty", "blank", "binary", "nul", "zip", "latin1", "utf16", "deep_json",
               "deep_yaml", "laughs", "recursive_yaml", "long_field", "open_quote",
               "no_newline", "header_only", "markup", "directory", "missing", "dev_zero")


def _check(cmd: Cmd, f: Path, work: Path) -> None:
    from tests.fuzz.harness import kb_counts

    before = kb_counts() if cmd.writes_kb else None
    o = run_cli(cmd.args(f, work))
    assert_ok(o, allowed=cmd.allowed)
    if before is not None and o.exit_code != 0:
        assert kb_counts() == before, f"{cmd.name}: the knowledge base changed on failure"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    prepare(d)
    return d


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name)
def test_base_input_is_valid(cmd: Cmd, work: Path) -> None:
    """The mutations start from valid files: the base input itself succeeds."""
    if "slow" in cmd.tags and cmd.name == "design":
        pytest.skip("design base run is covered by tests/design (a full report)")
    o = run_cli(cmd.args(cmd.base(work), work))
    assert_ok(o, allowed=cmd.allowed)
    assert o.exit_code in (0, 1), o.text[-1000:]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name)
def test_adversarial(cmd: Cmd, work: Path) -> None:
    files = adversarial_files(work / f"adv-{cmd.name}", cmd.suffix)
    for kind in ADVERSARIAL:
        _check(cmd, files[kind], work)


_mutation = st.tuples(st.sampled_from(MUTATORS), st.integers(0, 10**6),
                      st.sampled_from(HOSTILE + NUMBERS))


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name)
def test_mutations(cmd: Cmd, work: Path) -> None:
    base = cmd.base(work).read_bytes()
    # a valid design runs the whole pipeline (seconds): one example per 8 of the others
    n = max(1, EXAMPLES_PER_COMMAND // 8) if "slow" in cmd.tags else EXAMPLES_PER_COMMAND
    target = work / f"mut-{cmd.name}{cmd.suffix}"

    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(_mutation, min_size=1, max_size=3))
    def run(muts: list[tuple[object, int, str]]) -> None:
        data = base
        for mutate, at, tok in muts:
            data = mutate(data, at, tok)  # type: ignore[operator]
        target.write_bytes(data)
        _check(cmd, target, work)

    run()
