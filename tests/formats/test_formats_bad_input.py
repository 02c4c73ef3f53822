"""Bad input: each reader names the file, line, field, bad value and what is accepted."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exomir.core import EvidenceLevel, InputError
from exomir.formats import (
    ReadStats,
    read_fasta,
    read_gmt,
    read_mature_fasta,
    read_mir_family_info,
    read_mirtarbase,
    read_mirtarbase_rows,
    read_targetscan_utrs,
    read_utr_fasta,
)


def _write(tmp_path: Path, text: str | bytes, name: str = "f.txt") -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        p.write_text(text, encoding="utf-8")
    else:
        p.write_bytes(text)
    return p


def _err(fn: Callable[[Path], Iterator[object]], path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        list(fn(path))
    return info.value


MATURE = ">hsa-miR-1 MIMAT0000416 Homo sapiens miR-1\nUGGAAUGUAAAGAAGUAUGUAU\n"


def test_fasta_wrapped_dna_any_case(tmp_path: Path) -> None:
    p = _write(tmp_path, ">u1 gene A\r\nacgt\r\nACGT\n\n>u2\nuuNN\n")
    recs = list(read_utr_fasta(p))
    assert [(r.id, r.sequence, r.description) for r in recs] == [
        ("u1", "ACGUACGU", "gene A"), ("u2", "UUNN", None)]


def test_fasta_illegal_letter_named(tmp_path: Path) -> None:
    p = _write(tmp_path, ">u1\nACGU\nACXGZ\n")
    e = _err(read_utr_fasta, p)
    assert e.line == 3 and e.source == str(p) and e.field == "sequence"
    assert "'X'" in e.message and "'Z'" in e.message and "column 3" in e.message
    assert e.accepted is not None and "U" in e.accepted
    assert f"{p}:3" in str(e)


def test_fasta_truncated_header_at_eof(tmp_path: Path) -> None:
    p = _write(tmp_path, MATURE + ">hsa-miR-2 MIMAT0000001 x\n")
    e = _err(read_mature_fasta, p)
    assert e.line == 3 and "without sequence" in e.message


def test_fasta_consecutive_headers(tmp_path: Path) -> None:
    p = _write(tmp_path, ">a\n>b\nACGU\n")
    assert _err(read_fasta, p).line == 1


def test_fasta_sequence_before_header(tmp_path: Path) -> None:
    e = _err(read_fasta, _write(tmp_path, "ACGU\n>a\nACGU\n"))
    assert e.line == 1 and "before the first" in e.message


def test_fasta_duplicate_ids(tmp_path: Path) -> None:
    e = _err(read_fasta, _write(tmp_path, ">a\nAC\n>b\nGU\n>a\nAA\n"))
    assert e.line == 5 and e.value == "a" and "line 1" in e.message


def test_mature_duplicate_accession(tmp_path: Path) -> None:
    text = MATURE + ">hsa-miR-2 MIMAT0000416 Homo sapiens miR-2\nACGU\n"
    e = _err(read_mature_fasta, _write(tmp_path, text))
    assert e.field == "accession" and e.line == 3


def test_mature_header_without_accession(tmp_path: Path) -> None:
    (m,) = read_mature_fasta(_write(tmp_path, ">Hsa-Mir-21_5p\nTAGCTTATCAGACTGATGTTGA\n"))
    assert m.accession is None and m.sequence.startswith("UAGCUU")


def test_empty_and_blank_files(tmp_path: Path) -> None:
    assert "empty" in _err(read_fasta, _write(tmp_path, "")).message
    assert "no FASTA records" in _err(read_fasta, _write(tmp_path, "\n\n", "b.fa")).message
    assert "no gene sets" in _err(read_gmt, _write(tmp_path, "# c\n", "c.gmt")).message


def test_missing_file(tmp_path: Path) -> None:
    e = _err(read_gmt, tmp_path / "nope.gmt")
    assert "not found" in e.message and e.source == str(tmp_path / "nope.gmt")


def test_binary_garbage(tmp_path: Path) -> None:
    e = _err(read_fasta, _write(tmp_path, b">a\nACGU\n\x89PNG\x00\x01\x02\n"))
    assert e.line == 3 and "binary" in e.message
    e = _err(read_gmt, _write(tmp_path, b"set\t\tA\nB\xff\xfe\tx\tC\n", "g.gmt"))
    assert e.line == 2 and "UTF-8" in e.message


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress((MATURE * 2000).encode())
    p = _write(tmp_path, data[: len(data) // 2], "m.fa.gz")
    e = _err(lambda q: read_fasta(q, unique=False), p)
    assert "truncated or corrupt" in e.message and e.line is not None


def test_zip_single_member_and_multi(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("miR_Family_Info.txt", "let-7/98\tGAGGUAG\t9606;10090\n")
    p = _write(tmp_path, buf.getvalue(), "fam.zip")
    (fam,) = read_mir_family_info(p, species=10090)
    assert fam.taxa == (9606, 10090)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
        zf.writestr("b.txt", "y")
    e = _err(read_gmt, _write(tmp_path, buf.getvalue(), "two.zip"))
    assert "exactly one" in e.message and "a.txt" in str(e.value)


FAMILY_HEADER = ("miR family\tSeed+m8\tSpecies ID\tMiRBase ID\tMature sequence\t"
                 "Family Conservation?\tMiRBase Accession\n")


def test_family_info_genome_wide_layout(tmp_path: Path) -> None:
    text = FAMILY_HEADER + (
        "miR-146-5p\tGAGAACU\t9606\thsa-miR-146a-5p\tUGAGAACUGAAUUCCAUGGGUU\t2\tMIMAT0000449\n"
        "miR-146-5p\tGAGAACU\t10090\tmmu-miR-146a-5p\tUGAGAACUGAAUUCCAUGGGUU\t2\tMIMAT0000158\n"
        "miR-9999\tAAAAAAA\t9606\thsa-miR-9999\tUAAAAAAAC\t-1\tMIMAT9999999\n")
    p = _write(tmp_path, text)
    stats = ReadStats()
    rows = list(read_mir_family_info(p, species="human", stats=stats))
    assert [r.mirbase_id for r in rows] == ["hsa-miR-146a-5p", "hsa-miR-9999"]
    assert rows[0].conservation == 2 and rows[1].conservation == -1
    assert rows[0].accession == "MIMAT0000449" and rows[0].taxa == (9606,)
    assert rows[0].mature_sequence is not None and rows[0].seed == rows[0].mature_sequence[1:8]
    assert stats.skipped == {"species is not 9606": 1}


@pytest.mark.parametrize(("row", "field", "line"), [
    ("miR-1\tGGAAUG\t9606\n", "Seed+m8", 1),        # 6 nt seed
    ("miR-1\tGGAAUGX\t9606\n", "Seed+m8", 1),       # letter
    ("miR-1\tGGAAUGU\thuman\n", "Species ID", 1),   # not a taxon id
    ("miR-1\tGGAAUGU\t9606\nmiR-1\tGGAAUGU\t9606\n", "miR family/MiRBase ID/Species ID", 2),
])
def test_family_info_bad_values(tmp_path: Path, row: str, field: str, line: int) -> None:
    e = _err(read_mir_family_info, _write(tmp_path, row))
    assert e.field == field and e.line == line


def test_family_info_wrong_columns(tmp_path: Path) -> None:
    e = _err(read_mir_family_info, _write(tmp_path, "miR-1\tGGAAUGU\t9606\nmiR-2\tGGAAUGU\n"))
    assert e.line == 2 and "columns" in e.message
    e = _err(read_mir_family_info, _write(tmp_path, "a\tb\tc\td\n", "g.txt"))
    assert e.line == 1 and e.accepted is not None and "3" in e.accepted


def test_utr_genome_wide_layout(tmp_path: Path) -> None:
    text = ("Refseq ID\tGene ID\tGene Symbol\tSpecies ID\tUTR sequence\n"
            "NM_1\tENSG1\tPTEN\t9606\tAC-GU-ac\n"
            "NM_1\tENSG1\tPTEN\t10090\tAC-GU\n"
            "NM_2\tENSG2\tSMAD4\t9606\t-----\n")
    stats = ReadStats()
    rows = list(read_targetscan_utrs(_write(tmp_path, text), species=9606, stats=stats))
    assert [(r.id, r.gene_symbol, r.sequence, r.aligned) for r in rows] == [
        ("NM_1", "PTEN", "ACGUAC", "AC-GU-ac")]
    assert stats.skipped == {"species is not 9606": 1, "no sequence (alignment gaps only)": 1}


def test_utr_bad_letters_and_duplicates(tmp_path: Path) -> None:
    e = _err(read_targetscan_utrs, _write(tmp_path, "G\t9606\tACGU\nH\t9606\tAC.GU\n"))
    assert e.line == 2 and e.field == "UTR sequence" and "'.'" in e.message
    e = _err(read_targetscan_utrs, _write(tmp_path, "G\t9606\tACGU\nG\t9606\tACGU\n", "d.txt"))
    assert e.line == 2 and "duplicate" in e.message


RELEASE_HEADER = ("miRTarBase ID\tmiRNA\tSpecies (miRNA)\tTarget Gene\tTarget Gene (Entrez ID)\t"
                  "Species (Target Gene)\tExperiments\tSupport Type\tReferences (PMID)\n")
RELEASE_ROWS = [
    "MIRT000002\thsa-miR-20a-5p\tHomo sapiens\tHIF1A\t3091\tHomo sapiens\t"
    "Luciferase reporter assay//Western blot\tFunctional MTI\t18632605",
    "MIRT000003\thsa-miR-146a-5p\tHomo sapiens\tCXCR4\t7852\tHomo sapiens\tMicroarray\t"
    "Functional MTI (Weak)\t19935707",
    "MIRT000004\thsa-miR-1\tHomo sapiens\tFOO\t1\tHomo sapiens\tqPCR\tNon-Functional MTI\t1",
    "MIRT000005\tmmu-miR-1a-3p\tMus musculus\tHand2\t15111\tMus musculus\tqPCR\t"
    "Functional MTI\t2",
    "MIRT000006\thsa-miR-1\tHomo sapiens\tHand2\t15111\tMus musculus\tqPCR\tFunctional MTI\t3",
]


def test_mirtarbase_release_layout_tsv_and_csv(tmp_path: Path) -> None:
    tsv = _write(tmp_path, RELEASE_HEADER + "\n".join(RELEASE_ROWS) + "\n", "mti.tsv")
    stats = ReadStats()
    mtis = list(read_mirtarbase(tsv, stats=stats))
    assert [(m.mirna, m.gene, m.evidence) for m in mtis] == [
        ("hsa-miR-20a-5p", "HIF1A", EvidenceLevel.STRONG),
        ("hsa-miR-146a-5p", "CXCR4", EvidenceLevel.WEAK)]
    assert mtis[0].source.pmid == "18632605" and "MIRT000002" in (mtis[0].source.citation or "")
    assert mtis[0].method == "Luciferase reporter assay//Western blot"
    assert stats.skipped == {"non-functional MTI": 1, "miRNA species is not Homo sapiens": 1,
                             "target species is not Homo sapiens": 1}
    csv_text = "\n".join(",".join(f'"{c}"' if " " in c else c for c in r.split("\t"))
                         for r in [RELEASE_HEADER.rstrip("\n"), *RELEASE_ROWS])
    csv_path = _write(tmp_path, csv_text + "\n", "mti.csv")
    assert [m.gene for m in read_mirtarbase(csv_path)] == ["HIF1A", "CXCR4"]
    mouse = list(read_mirtarbase_rows(tsv, species="mouse"))
    assert [(r.mirna, r.entrez_id) for r in mouse] == [("mmu-miR-1a-3p", 15111)]
    assert len(list(read_mirtarbase(tsv, species=None))) == 4


def test_mirtarbase_release_bad_support_type(tmp_path: Path) -> None:
    row = RELEASE_ROWS[0].replace("Functional MTI", "Very functional")
    e = _err(read_mirtarbase, _write(tmp_path, RELEASE_HEADER + row + "\n"))
    assert e.line == 2 and e.field == "Support Type" and e.value == "Very functional"
    assert e.accepted is not None and "Functional MTI (Weak)" in e.accepted


def _xlsx(path: Path, rows: list[list[str | int]]) -> Path:
    """A minimal Office Open XML workbook (shared strings + numbers), as Excel writes them."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strings: list[str] = []
    xml_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, int):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}"/>')
        zf.writestr("xl/sharedStrings.xml", f'<sst xmlns="{ns}">{sst}</sst>')
        zf.writestr("xl/worksheets/sheet1.xml",
                    f'<worksheet xmlns="{ns}"><sheetData>{"".join(xml_rows)}</sheetData>'
                    "</worksheet>")
    return path


def test_mirtarbase_release_xlsx(tmp_path: Path) -> None:
    header = RELEASE_HEADER.rstrip("\n").split("\t")
    rows: list[list[str | int]] = [header]
    for r in RELEASE_ROWS[:2]:
        cells: list[str | int] = list(r.split("\t"))
        cells[4] = int(cells[4])
        cells[8] = int(cells[8])
        rows.append(cells)
    p = _xlsx(tmp_path / "hsa_MTI.xlsx", rows)
    mtis = list(read_mirtarbase_rows(p))
    assert [(m.mirna, m.gene, m.entrez_id, m.pmid) for m in mtis] == [
        ("hsa-miR-20a-5p", "HIF1A", 3091, "18632605"),
        ("hsa-miR-146a-5p", "CXCR4", 7852, "19935707")]
    assert mtis[1].line == 3


PAIRS_HEADER = "miRNA\tGene\tGene ID\tEnsembl.ID\n"


@pytest.mark.parametrize(("row", "where"), [
    ("1\thsa-miR-1\tHAND2\n", "columns"),
    ("x\thsa-miR-1\tHAND2\t9464\tENSG1\n", "row index"),
    ("1\thsa-miR-1\tHAND2\tnine\tENSG1\n", "Entrez"),
    ("1\thsa-miR-1\tHAND2\t9464\tENSG1\n1\thsa-miR-2\tHAND2\t9464\tENSG1\n", "duplicate"),
])
def test_mirtarbase_pairs_bad_rows(tmp_path: Path, row: str, where: str) -> None:
    e = _err(read_mirtarbase, _write(tmp_path, PAIRS_HEADER + row))
    assert where in e.message and e.line is not None and e.line >= 2


def test_mirtarbase_unknown_header(tmp_path: Path) -> None:
    e = _err(read_mirtarbase, _write(tmp_path, "a\tb\n1\t2\n"))
    assert e.line == 1 and e.accepted is not None and "Support Type" in e.accepted


def test_gmt_rules(tmp_path: Path) -> None:
    text = "S1\t\tA\tB\tA\t\nS2\thttp://x\tC,1.0\tD,0.5\n"
    sets = list(read_gmt(_write(tmp_path, text, "s.gmt"), source="test"))
    assert [(s.name, s.description, s.genes, s.source) for s in sets] == [
        ("S1", None, ["A", "B"], "test"), ("S2", "http://x", ["C", "D"], "test")]
    e = _err(read_gmt, _write(tmp_path, "S1\t\tA\nS1\t\tB\n", "d.gmt"))
    assert e.line == 2 and e.field == "name"
    e = _err(read_gmt, _write(tmp_path, "S1\tonly two\n", "t.gmt"))
    assert e.line == 1 and "columns" in e.message


def test_unknown_species(tmp_path: Path) -> None:
    p = _write(tmp_path, MATURE)
    e = _err(lambda q: read_mature_fasta(q, species="martian"), p)
    assert e.field == "species" and e.accepted is not None and "hsa" in e.accepted
