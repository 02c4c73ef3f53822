"""Site scanner: TargetScan 7 sample output and a brute-force reference on random sequences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.cargo.inputs import read_mirnas, read_utrs
from exomir.cargo.sites import TARGETSCAN_NAMES, scan
from exomir.core.errors import InputError

COMP = {"A": "U", "C": "G", "G": "C", "U": "A"}


def brute_force(mirnas: list[tuple[str, str]], utrs: list[tuple[str, str]], mask: int,
                types: set[str]) -> set[tuple[str, str, str, int, int]]:
    """Plain loops over every UTR position and every miRNA, straight from the definitions."""
    out = set()
    for tname, raw in utrs:
        u = raw.replace("-", "").replace(".", "").upper().replace("T", "U")
        u = "N" * min(mask, len(u)) + u[mask:]
        for mname, mseq in mirnas:
            s = mseq.upper().replace("T", "U")
            seed = s if len(s) == 7 else s[1:8]  # nt 2..8
            m6 = "".join(COMP[b] for b in reversed(seed[0:6]))  # revcomp nt2-7
            m8 = COMP[seed[6]]
            off = "".join(COMP[b] for b in reversed(seed[1:7]))  # revcomp nt3-8
            for i in range(len(u)):
                if u[i:i + 6] == m6:
                    has8 = i > 0 and u[i - 1] == m8
                    has1 = i + 6 < len(u) and u[i + 6] == "A"
                    if has8 and has1:
                        t, a, b = "8mer", i - 1, i + 6
                    elif has8:
                        t, a, b = "7mer-m8", i - 1, i + 5
                    elif has1:
                        t, a, b = "7mer-A1", i, i + 6
                    else:
                        t, a, b = "6mer", i, i + 5
                    if t in types:
                        out.add((mname, tname, t, a + 1, b + 1))
                if "offset-6mer" in types and u[i:i + 6] == off and u[i + 1:i + 7] != m6:
                    out.add((mname, tname, "offset-6mer", i + 1, i + 6))
    return out


def as_set(table_frame: pd.DataFrame) -> set[tuple[str, str, str, int, int]]:
    return set(zip(table_frame.mirna, table_frame.target, table_frame.site_type,
                   table_frame.utr_start.astype(int), table_frame.utr_end.astype(int),
                   strict=True))


@pytest.mark.parametrize("species", [9606, 10090, 10116, 9031, 9615])
def test_matches_targetscan7_sample_row_for_row(shared_data: Path, species: int) -> None:
    d = shared_data / "targetscan_sample"
    mirnas = read_mirnas(d / "input" / "miR_Family_info_sample.txt", species)
    utrs = read_utrs(d / "input" / "UTR_Sequences_sample.txt", species)
    ref = pd.read_csv(d / "output" / "targetscan_70_output.txt", sep="\t")
    ref = ref[ref["species_ID"] == species]
    expected = sorted(zip(ref["a_Gene_ID"], ref["miRNA_family_ID"], ref["UTR_start"],
                          ref["UTR_end"], ref["Site_type"], strict=True))
    got = scan(mirnas, utrs).to_frame()
    ours = sorted(zip(got.target, got.mirna, got.utr_start.astype(int),
                      got.utr_end.astype(int), got.site_type.map(TARGETSCAN_NAMES),
                      strict=True))
    assert len(ours) == len(expected)
    assert ours == expected
    if species == 9606:
        assert len(expected) == 88


def test_site_types_and_coordinates_by_hand() -> None:
    # miR-1: UGGAAUGUAAAGAAGUAUGUAU; nt2-8 GGAAUGU -> M6 = revcomp(GGAAUG) = CAUUCC, m8 = A
    mir = [("miR-1", "UGGAAUGUAAAGAAGUAUGUAU")]
    utr = "GGGG" + "ACAUUCCA" + "GGG" + "ACAUUCCG" + "GG" + "CAUUCCA" + "GGCAUUCCGG"
    t = scan(mir, [("g", utr)], mask_5p=0).to_frame()
    got = sorted(zip(t.site_type, t.utr_start, t.utr_end, strict=True), key=lambda x: x[1])
    assert got == [("8mer", 5, 12), ("7mer-m8", 16, 22), ("7mer-A1", 26, 32),
                   ("6mer", 35, 40)]


def test_mask_downgrades_sites_whose_m8_partner_is_masked() -> None:
    mir = [("miR-1", "UGGAAUGUAAAGAAGUAUGUAU")]
    utr = "GGGGGGGGGGGGGA" + "CAUUCCA" + "GGGG"  # m8 partner at 14, seed match 15-20
    full = scan(mir, [("g", utr)], mask_5p=0).to_frame()
    masked = scan(mir, [("g", utr)], mask_5p=14).to_frame()
    assert list(full.site_type) == ["8mer"] and int(full.utr_start[0]) == 14
    assert list(masked.site_type) == ["7mer-A1"] and int(masked.utr_start[0]) == 15
    assert len(scan(mir, [("g", utr)], mask_5p=16)) == 0


def test_offset_6mer_only_without_nt2_7_match() -> None:
    mir = [("miR-1", "UGGAAUGUAAAGAAGUAUGUAU")]  # offset = revcomp(GAAUGU) = ACAUUC
    utr = "GGACAUUCGG" + "GGACAUUCCGG"  # first: offset only; second: 7mer-m8 (no offset)
    t = scan(mir, [("g", utr)], mask_5p=0,
             site_types=["8mer", "7mer-m8", "7mer-A1", "6mer", "offset-6mer"]).to_frame()
    got = sorted(zip(t.site_type, t.utr_start, strict=True), key=lambda x: x[1])
    assert got == [("offset-6mer", 3), ("7mer-m8", 13)]


def test_unknown_site_type_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown site type"):
        scan([("m", "UGGAAUGU")], [("g", "ACGU")], site_types=["9mer"])


ALPHA = st.sampled_from(list("ACGUacgutTN-"))
MIRNA = st.text(alphabet="ACGU", min_size=8, max_size=23)


@settings(max_examples=120, deadline=None)
@given(
    mirnas=st.lists(MIRNA, min_size=1, max_size=6),
    utrs=st.lists(st.text(alphabet=ALPHA, min_size=0, max_size=200), min_size=1, max_size=4),
    mask=st.integers(0, 20),
    with_offset=st.booleans(),
    chunk=st.sampled_from([5, 50, 8_000_000]),
)
def test_agrees_with_brute_force(mirnas: list[str], utrs: list[str], mask: int,
                                 with_offset: bool, chunk: int) -> None:
    types = {"8mer", "7mer-m8", "7mer-A1", "6mer"} | ({"offset-6mer"} if with_offset else set())
    mir = [(f"m{i}", s) for i, s in enumerate(mirnas)]
    ut = [(f"u{i}", s) for i, s in enumerate(utrs)]
    got = scan(mir, ut, mask_5p=mask, site_types=sorted(types), chunk_nt=chunk).to_frame()
    assert as_set(got) == brute_force(mir, ut, mask, types)
    assert len(got) == len(as_set(got))  # no duplicate sites


@settings(max_examples=40, deadline=None)
@given(seed=st.text(alphabet="ACGU", min_size=7, max_size=7),
       utr=st.text(alphabet="ACGU", min_size=30, max_size=120))
def test_planted_site_found(seed: str, utr: str) -> None:
    m6 = "".join(COMP[b] for b in reversed(seed[:6]))
    planted = utr[:20] + COMP[seed[6]] + m6 + "A" + utr[20:]
    got = as_set(scan([("m", "U" + seed)], [("g", planted)], mask_5p=0).to_frame())
    assert ("m", "g", "8mer", 21, 28) in got


def test_reader_errors(tmp_path: Path) -> None:
    bad = tmp_path / "m.fa"
    bad.write_text(">hsa-miR-x\nUGAG#UAG\n")
    with pytest.raises(InputError, match="illegal sequence letter") as e:
        read_mirnas(bad)
    assert e.value.line == 2
    fam = tmp_path / "fam.txt"
    fam.write_text("let-7\tGAGGUAG\t9606\nmiR-x\tGAGG\t9606\n")
    with pytest.raises(InputError, match="7 nt") as e2:
        read_mirnas(fam)
    assert e2.value.line == 2
    with pytest.raises(InputError, match="no UTRs"):
        utr = tmp_path / "u.txt"
        utr.write_text("G1\t10090\tACGU\n")
        read_utrs(utr, 9606)
    with pytest.raises(InputError, match="not found"):
        read_utrs(tmp_path / "missing.fa")
