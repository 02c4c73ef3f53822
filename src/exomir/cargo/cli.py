"""``exomir cargo``: scan target sites, rank cargo for an indication, pathway enrichment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from exomir.core.errors import InputError

if TYPE_CHECKING:  # pandas loads when a command runs, not at start-up
    import pandas as pd

console = Console()
cargo_app = typer.Typer(help="Cargo design: miRNA target sites, context++ scores, pathway "
                        "enrichment and cargo ranking.", no_args_is_help=True)


def _site_types(values: list[str] | None) -> list[str]:
    from exomir.cargo.sites import DEFAULT_SITE_TYPES

    if not values:
        return list(DEFAULT_SITE_TYPES)
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def _fmt(value: str) -> str:
    if value not in ("table", "json"):
        raise InputError("unknown output format", field="format", value=value,
                         accepted=["table", "json"])
    return value


@cargo_app.command("scan")
def scan_cmd(
    mirna: Annotated[Path, typer.Option(help="miRBase-style mature FASTA or TargetScan "
                                        "miR_Family_Info table.")],
    utr: Annotated[Path, typer.Option(help="UTR FASTA or TargetScan UTR_Sequences table.")],
    species: Annotated[int | None, typer.Option(help="NCBI taxon id, e.g. 9606.")] = None,
    site_types: Annotated[list[str] | None, typer.Option(
        "--site-types", help="Comma-separated: 8mer,7mer-m8,7mer-A1,6mer,offset-6mer "
        "(default: the four TargetScan types).")] = None,
    mask_5p: Annotated[int, typer.Option("--mask-5p", help="Mask the first N nt of each UTR "
                                         "(ribosome shadow; 0 = off).")] = 14,
    scores: Annotated[bool, typer.Option(help="Add context++ score columns.")] = True,
    sa: Annotated[bool, typer.Option("--sa", help="Add site accessibility (ViennaRNA "
                                     "RNAplfold W 80, L 40; about 8 kb/s per core).")] = False,
    air: Annotated[Path | None, typer.Option(help="TargetScan AIR file (gene, start, end, "
                                             "AIR %): isoform-weighted features and "
                                             "weighted context++ scores.")] = None,
    orf: Annotated[Path | None, typer.Option(help="ORF sequences (FASTA or TargetScan "
                                             "table): ORF length and ORF 8mer terms.")] = None,
    pct: Annotated[bool, typer.Option("--pct", help="Add PCT from the multi-species "
                                      "alignment in --utr (needs --species and a "
                                      "miR_Family_Info --mirna).")] = False,
    targetscan_compat: Annotated[bool, typer.Option(
        "--targetscan-compat", help="Reproduce TargetScan 7's public-code quirks "
        "(see docs/cargo.md).")] = False,
    threads: Annotated[int | None, typer.Option(help="Concurrent UTR chunks (default: CPUs).")
                       ] = None,
    out: Annotated[Path | None, typer.Option(help="Write sites to .tsv or .parquet.")] = None,
) -> None:
    """Find canonical miRNA target sites in 3'UTRs (TargetScan 7 compatible)."""
    from exomir.cargo.inputs import read_mirnas, read_utrs
    from exomir.cargo.output import SiteWriter
    from exomir.cargo.pipeline import scan_and_score

    if out is not None:
        from exomir.core.files import check_output

        check_output(out, field="--out", suffixes=(".tsv", ".parquet"))
    if threads is not None and not 1 <= threads <= 256:
        raise InputError("out of range", field="--threads", value=threads, accepted="1 to 256")
    mirs = read_mirnas(mirna, species)
    utrs = read_utrs(utr, species)
    kw: dict[str, Any] = {"sa": sa, "targetscan_compat": targetscan_compat}
    if air is not None:
        from exomir.cargo.isoforms import read_airs

        kw["airs"] = read_airs(air)
    orfs = None
    if orf is not None:
        orfs = read_utrs(orf, species)
        kw["orf_lengths"] = {t: len(s) for t, s in orfs}
    pct_for = _pct_lookup(mirna, utr, species) if pct else None
    err = Console(stderr=True)
    with SiteWriter(out) as writer, Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"{len(mirs)} miRNAs x {len(utrs)} UTRs", total=None)
        for table, sc in scan_and_score(
                mirs, utrs, site_types=_site_types(site_types), mask_5p=mask_5p,
                scores=scores, orfs=orfs, pct_for=pct_for, threads=threads,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                **kw):
            writer.write(table, sc.columns if sc is not None else None)
    if out is not None:
        err.print(f"{writer.rows} sites -> {out}")


def _pct_lookup(mirna: Path, utr: Path, species: int | None) -> Any:
    """PCT per site from the alignment in ``utr`` (exomir.cargo.conservation)."""
    from exomir.cargo.conservation import conservation, site_pct
    from exomir.cargo.inputs import is_fasta
    from exomir.formats import read_mir_family_info, read_targetscan_utrs

    if species is None:
        raise InputError("--pct needs --species (the species whose sites are scored)",
                         field="species")
    if is_fasta(mirna) or is_fasta(utr):
        raise InputError("--pct needs a TargetScan miR_Family_Info table (families with "
                         "their species) and a TargetScan UTR_Sequences alignment",
                         source=mirna if is_fasta(mirna) else utr)
    fams = [(f.family, f.seed, f.taxa) for f in read_mir_family_info(mirna)]
    cons = conservation(fams, [(u.id, int(u.taxon or 0), u.aligned or u.sequence)
                               for u in read_targetscan_utrs(utr)])
    return lambda table: site_pct(table, cons, species)


def _predictions(mirna: Path | None, utr: Path | None, species: int
                 ) -> tuple[dict[str, str], pd.DataFrame | None]:
    """Mature sequences from --mirna and, with --utr, predicted sites (context++ totals)."""
    from exomir.cargo.context import combine_pairs, score_sites
    from exomir.cargo.inputs import read_mirnas, read_utrs
    from exomir.cargo.sites import scan

    extra: dict[str, str] = {}
    predicted = None
    if utr is not None:
        if mirna is None:
            raise InputError("--utr needs --mirna (mature sequences to scan)", field="mirna")
        mirs = read_mirnas(mirna, species)
        extra.update({n: s for n, s in mirs if len(s) >= 8})
        utrs = read_utrs(utr, species)
        with console.status("scanning and scoring predicted sites"):
            predicted = combine_pairs(score_sites(scan(mirs, utrs), utrs, mature=dict(mirs)))
    elif mirna is not None:
        extra.update({n: s for n, s in read_mirnas(mirna, species) if len(s) >= 8})
    return extra, predicted


def _interactions(mirtarbase: Path | None, mirna: Path | None, utr: Path | None,
                  species: int) -> tuple[pd.DataFrame, dict[str, str]]:
    from exomir.cargo.evidence import gather
    from exomir.core import Species

    prefix = Species.parse(str(species), field="species").mirbase_prefix
    extra, predicted = _predictions(mirna, utr, species)
    return gather(mirtarbase, prefix=prefix, extra_mature=extra, predicted=predicted)


@cargo_app.command("rank")
def rank_cmd(
    indication: Annotated[str, typer.Option(help="diabetic_wound or neuropathic_pain.")],
    k: Annotated[int, typer.Option(help="Largest cargo set size.")] = 1,
    top: Annotated[int, typer.Option(help="Candidates shown per set size.")] = 10,
    mirtarbase: Annotated[Path | None, typer.Option(help="miRTarBase TSV to add.")] = None,
    mirna: Annotated[Path | None, typer.Option(help="Mature miRNA FASTA (sequences for "
                                               "motifs; with --utr: predicted sites).")] = None,
    utr: Annotated[Path | None, typer.Option(help="3'UTRs to add predicted sites.")] = None,
    species: Annotated[int, typer.Option(help="NCBI taxon id for --mirna/--utr.")] = 9606,
    off_target_weight: Annotated[float, typer.Option(help="Penalty per repressed gene "
                                                     "outside the profile.")] = 0.01,
    embedded_only: Annotated[bool, typer.Option("--embedded", help="Use the shipped curated "
                             "dataset only, not your knowledge base.")] = False,
    any_direction: Annotated[bool, typer.Option("--any-direction", help="Also rank miRNAs no "
                             "study of the indication gives a direction for (as mimics, a "
                             "hypothesis).")] = False,
    allow_passenger: Annotated[bool, typer.Option("--allow-passenger", help="Also rank "
                               "minor-arm (passenger) strands.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Rank miRNAs and combinations up to k for an indication, with per-gene reasons.

    Mimics only for miRNAs the indication's studies support delivering, inhibitors only for
    those they support inhibiting; gated studies (retracted, ...) and passenger strands are
    left out and listed.
    """
    from exomir.cargo.rank import rank_for_indication
    from exomir.core import Species

    _fmt(fmt)
    prefix = Species.parse(str(species), field="species").mirbase_prefix
    extra, predicted = _predictions(mirna, utr, species)
    kb = None
    if embedded_only:
        from exomir.kb import embedded

        kb = embedded()
    res = rank_for_indication(indication, k=k, kb=kb, mirtarbase=mirtarbase,
                              predicted=predicted, extra_mature=extra, prefix=prefix,
                              require_direction=not any_direction,
                              allow_passenger=allow_passenger,
                              off_target_weight=off_target_weight, top=top)
    if fmt == "json":
        typer.echo(json.dumps(res.to_dict(), indent=1, default=str))
        return
    from exomir.terminal import Column, print_table

    cols = [Column("#", justify="right", no_wrap=True), Column("cargo (modality)"),
            Column("score", justify="right", no_wrap=True), Column("benefit", justify="right"),
            Column("harm", justify="right"), Column("off-target", justify="right"),
            Column("why (gene contribution (evidence))"), Column("EXOmotif")]
    for size, cands in res.candidates.items():
        rows = []
        for i, c in enumerate(cands, 1):
            why = "; ".join(
                f"{d['gene']} {d['contribution']:+.2f} "
                f"({','.join(sorted({b['evidence'] for b in d['by']}))})"
                for d in c.contributions[:5])
            motifs = ", ".join(f"{m}:{'+'.join(v)}" for m, v in c.motifs.items() if v) or "-"
            rows.append([str(i), c.label, f"{c.score:.2f}", f"{c.benefit:.2f}",
                         f"{c.spare_penalty:.2f}",
                         f"{c.off_target_penalty:.2f} ({c.n_off_targets})", why, motifs])
        print_table(console, f"{indication}: best cargo of {size} miRNA(s)", cols, rows)
    merged = {m: f for m, f in res.names.get("merged", {}).items() if m in res.modality}
    if merged:
        console.print("name forms merged: " + "; ".join(
            f"{m} <- {', '.join(f)}" for m, f in sorted(merged.items())), highlight=False,
            markup=False)
    undirected = [x["mirna"] for x in res.kept_out if x["reason"].startswith("no study")]
    for x in res.kept_out:
        if not x["reason"].startswith("no study"):
            console.print(f"not ranked: {x['mirna']}: {x['reason']}", highlight=False,
                          markup=False)
    if undirected:
        shown = ", ".join(undirected[:8]) + (", ..." if len(undirected) > 8 else "")
        console.print(f"not ranked: {len(undirected)} miRNAs no study of this indication "
                      f"gives a direction for ({shown}); --any-direction ranks them as "
                      "mimics (hypothesis)", highlight=False, markup=False)
    for x in res.interactions_kept_out:
        console.print(f"interaction left out: {x['mirna']} -> {x['gene']} ({x['study']}: "
                      f"{x['reason']})", highlight=False, markup=False)


@cargo_app.command("enrich")
def enrich_cmd(
    gmt: Annotated[Path, typer.Option(help="Gene sets (GMT).")],
    mirnas: Annotated[str | None, typer.Option("--mirna", help="Comma-separated miRNA names: "
                                               "enrich their validated targets.")] = None,
    genes: Annotated[Path | None, typer.Option(help="File with one gene per line.")] = None,
    background: Annotated[Path | None, typer.Option(help="Background genes, one per line "
                                                    "(default: all genes in the GMT).")] = None,
    mirtarbase: Annotated[Path | None, typer.Option(help="miRTarBase TSV to add.")] = None,
    top: Annotated[int, typer.Option(help="Rows shown.")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Hypergeometric pathway enrichment (Benjamini-Hochberg) of miRNA targets or a gene list."""
    from exomir.cargo.enrich import enrich, read_gmt

    _fmt(fmt)
    if (mirnas is None) == (genes is None):
        raise InputError("give exactly one of --mirna or --genes", field="mirna")
    from exomir.core.files import read_word_list

    if genes is not None:
        query = read_word_list(genes, field="--genes", what="gene symbols")
    else:
        inter, _ = _interactions(mirtarbase, None, None, 9606)
        names = [m.strip() for m in (mirnas or "").split(",") if m.strip()]
        query = sorted(set(inter[inter.mirna.isin(names)].gene))
        if not query:
            raise InputError("no targets known for these miRNAs", field="mirna", value=mirnas)
    bg = None
    if background is not None:
        bg = read_word_list(background, field="--background", what="gene symbols")
    if top < 1:
        raise InputError("out of range", field="--top", value=top, accepted="an integer >= 1")
    res = enrich(query, read_gmt(gmt), background=bg).head(top)
    if fmt == "json":
        typer.echo(res.to_json(orient="records", indent=1))
        return
    t = Table(title=f"enrichment of {res['n'].iloc[0] if len(res) else 0} genes in {gmt.name}")
    for col in ("gene set", "k/K", "fold", "p", "q (BH)", "genes"):
        t.add_column(col)
    recs: Any = res.itertuples(index=False)
    for r in recs:
        t.add_row(Text(r.gene_set), f"{r.k}/{r.K}", f"{r.fold:.1f}", f"{r.p:.2e}",
                  f"{r.q:.2e}", Text(r.genes[:60]))
    console.print(t)


def register(app: typer.Typer) -> None:
    """Add the ``cargo`` command group to the root CLI."""
    app.add_typer(cargo_app, name="cargo")
