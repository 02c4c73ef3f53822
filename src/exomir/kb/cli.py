"""``exomir kb ...``: query, show, count, import and export the knowledge base."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from exomir.core import InputError, Study
from exomir.core.gates import explain, flags
from exomir.kb import io as kbio
from exomir.kb.store import KnowledgeBase, open_kb
from exomir.terminal import Column, print_table

console = Console()
kb_app = typer.Typer(help="Query and curate the knowledge base of studies, miRNAs, "
                     "interactions and trials.", no_args_is_help=True)


class OutFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


def _kb() -> KnowledgeBase:
    return open_kb()


def study_row(s: Study) -> dict[str, str]:
    """The flat summary of a study used by tables and CSV/JSON query output."""
    return {
        "id": s.id,
        "indication": s.indication.value,
        "citation": s.citation,
        "doi": s.source.doi or "",
        "pmid": s.source.pmid or "",
        "pmcid": s.source.pmcid or "",
        "source_cell": s.product.source_cell or "NR",
        "cargo": "; ".join(c.name for c in s.cargo) or (s.cargo_text or "NR"),
        "targets": ";".join(s.target_genes) or "NR",
        "pathways": "; ".join(s.pathways) or "NR",
        "species": s.subject.species.value if s.subject.species else "NR",
        "model": s.subject.disease_model or "NR",
        "route": s.delivery.route.value if s.delivery.route else "NR",
        "confidence": s.confidence.value if s.confidence else "NR",
        "flags": "; ".join(flags(s)),
        "url": s.source.link or "",
    }


@kb_app.command("stats")
def stats(fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Counts of studies, products, cargo miRNAs, targets, interactions, outcomes by indication."""
    data = _kb().stats()
    if fmt is OutFormat.json:
        typer.echo(json.dumps(data, indent=1))
        return
    keys = list(data["neuropathic_pain"])
    if fmt is OutFormat.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["indication", *keys])
        for ind, row in data.items():
            w.writerow([ind, *(row.get(k, "") for k in keys)])
        return
    t = Table(title="exomir knowledge base")
    t.add_column("count")
    for ind in data:
        t.add_column(ind, justify="right")
    for k in keys:
        t.add_row(k.replace("_", " "), *(str(data[i].get(k, "")) for i in data))
    console.print(t)
    console.print(f"mature miRNA sequences: {data['all']['mature_mirnas']}   gene sets: "
                  f"{data['all']['gene_sets']}   database: {_kb().display_url}",
                  highlight=False, markup=False)


@kb_app.command("query")
def query(
    indication: Annotated[str | None, typer.Option(help="neuropathic_pain | diabetic_wound")] = None,
    mirna: Annotated[str | None, typer.Option(help="e.g. miR-146a, hsa-miR-146a-5p")] = None,
    gene: Annotated[str | None, typer.Option(help="target gene symbol, e.g. PTEN")] = None,
    pathway: Annotated[str | None, typer.Option(help="e.g. PI3K/Akt, NF-kB")] = None,
    source: Annotated[str | None, typer.Option(help="exosome source, e.g. MSC, ADSC")] = None,
    route: Annotated[str | None, typer.Option(help="route or vehicle, e.g. intrathecal")] = None,
    species: Annotated[str | None, typer.Option(help="mouse | rat | human")] = None,
    model: Annotated[str | None, typer.Option(help="disease model text, e.g. SNL")] = None,
    fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table,
) -> None:
    """Filter studies; all filters combine (AND)."""
    found = _kb().studies(indication=indication, mirna=mirna, gene=gene, pathway=pathway,
                          source=source, route=route, species=species, model=model)
    rows = [study_row(s) for s in found]
    if fmt is OutFormat.json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if fmt is OutFormat.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(study_row(found[0]) if found else
                                                 ["id"]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        typer.echo(buf.getvalue(), nl=False)
        return
    cols = ("id", "citation", "doi", "source_cell", "cargo", "targets", "route", "species",
            "flags")
    print_table(console, f"{len(rows)} {'study' if len(rows) == 1 else 'studies'}",
                [Column(c, no_wrap=c == "id", style="bold red" if c == "flags" else None)
                 for c in cols],
                [[r[c] if c != "doi" else (s.source.key or "") for c in cols]
                 for s, r in zip(found, rows, strict=True)])
    retracted = [s.id for s in found if flags(s)[:1] == ["RETRACTED"]]
    if retracted:
        console.print(f"RETRACTED (never pooled, never used as evidence): "
                      f"{', '.join(retracted)}", style="bold red", highlight=False,
                      markup=False)
    flagged = [s for s in found if s.exclusions]
    if flagged:
        console.print(f"{len(flagged)} of {len(found)} studies carry exclusions (kept out of "
                      "some uses, see 'exomir kb show ID' and docs/evidence.md)",
                      highlight=False)


@kb_app.command("show")
def show(study_id: Annotated[str, typer.Argument(help="study id, e.g. NP001")],
         fmt: Annotated[ExportFormat | None, typer.Option("--format")] = None) -> None:
    """Print one study with all its fields and its source."""
    kb = _kb()
    s = kb.get_study(study_id)
    if fmt is ExportFormat.json:
        typer.echo(s.model_dump_json(indent=1, exclude_none=True))
        return
    t = Table(title=Text(f"{s.id}: {s.citation}"), show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    data = s.model_dump(mode="json", exclude_none=True)
    for key, value in data.items():
        if value in ([], {}, None):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        t.add_row(key, Text(text))
    t.add_row("origin", kb.origins("studies").get(s.id, "user"))
    t.add_row("link", Text(s.source.link or "NR"))
    for e in s.exclusions:
        t.add_row("EXCLUDED" if e.reason.value == "retracted" else "exclusion", Text(explain(e)))
    console.print(t)


@kb_app.command("trials")
def trials(indication: Annotated[str | None, typer.Option()] = None,
           fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Registered clinical trials of EV products, by indication."""
    items = _kb().trials(indication)
    if fmt is not OutFormat.table:
        typer.echo(kbio.dump_json("trials", items) if fmt is OutFormat.json
                   else kbio.dump_csv("trials", items), nl=False)
        return
    cols = ("registry_id", "indication", "condition", "phase", "status", "enrollment", "title")
    print_table(console, f"{len(items)} {'trial' if len(items) == 1 else 'trials'}",
                [Column(c, no_wrap=c == "registry_id") for c in cols],
                [[tr.registry_id, tr.indication.value, tr.condition or "", tr.phase or "NR",
                  tr.status or "NR", str(tr.enrollment or "NR"), tr.title] for tr in items])


@kb_app.command("import")
def import_(files: Annotated[list[Path], typer.Argument(help="JSON/CSV records, or reference "
                                                          "files: miRBase .fa, miRTarBase .tsv, "
                                                          ".gmt")],
            kind: Annotated[str | None, typer.Option(help="reference format when the suffix "
                                                     "is ambiguous: mirbase, mirtarbase, gmt")]
            = None) -> None:
    """Import records; all files in one transaction: on any error nothing is written."""
    records: dict[str, Any] = {}
    with console.status("reading files..."):
        for f in files:
            for k, items in read_any(f, kind).items():
                if isinstance(items, dict):
                    records.setdefault(k, {}).update(items)
                else:
                    records.setdefault(k, []).extend(items)
    counts = _kb().import_records(records, sources=[f.name for f in files])
    console.print("imported " + ", ".join(f"{v} {k}" for k, v in counts.items()))


def read_any(path: Path, kind: str | None) -> dict[str, list[object]]:
    """Records from one file: exomir JSON/CSV, or a reference format via exomir.formats."""
    from exomir.kb import reference

    if kind is not None or reference.is_reference(path):
        return reference.read_reference(path, kind)
    return dict(kbio.read_records(path))


@kb_app.command("export")
def export(fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.json,
           what: Annotated[str, typer.Option(help="studies | interactions | trials | mirnas | "
                                           "syntheses")] = "studies",
           out: Annotated[Path | None, typer.Option("--out", "-o")] = None) -> None:
    """Export records losslessly (re-import gives the same knowledge base)."""
    kb = _kb()
    getters: dict[str, Callable[[], Sequence[BaseModel]]] = {
        "studies": kb.studies, "interactions": lambda: kb.interactions(gated=False),
        "trials": kb.trials, "mirnas": kb.mature_mirnas, "syntheses": kb.syntheses}
    if what not in getters:
        raise InputError("unknown record kind", field="--what", value=what,
                         accepted=list(getters))
    items = getters[what]()
    origins = kb.origins(what) if what in kbio.WITH_ORIGIN else None
    text = (kbio.dump_json(what, items, origins) if fmt is ExportFormat.json
            else kbio.dump_csv(what, items, origins))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(items)} {what} to {out}")


@kb_app.command("path")
def path() -> None:
    """Print the database URL in use (password hidden)."""
    typer.echo(_kb().display_url)


@kb_app.command("syntheses")
def syntheses(indication: Annotated[str | None, typer.Option()] = None,
              fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Published pooled estimates (systematic reviews of preclinical studies), with DOIs."""
    items = _kb().syntheses(indication)
    if fmt is not OutFormat.table:
        typer.echo(kbio.dump_json("syntheses", items) if fmt is OutFormat.json
                   else kbio.dump_csv("syntheses", items), nl=False)
        return
    t = Table(title=f"{len(items)} published syntheses")
    for col in ("id", "indication", "intervention", "outcome", "estimate [95% CI]", "k",
                "I^2 %", "model", "source"):
        t.add_column(col, overflow="fold")
    for x in items:
        ci = f"[{x.ci_lb:g}, {x.ci_ub:g}]" if x.ci_lb is not None and x.ci_ub is not None \
            else "NR"
        t.add_row(x.id, x.indication.value, x.intervention, x.outcome,
                  f"{x.measure} {x.estimate:g} {ci}", str(x.k or "NR"),
                  f"{x.i2:g}" if x.i2 is not None else "NR", x.model or "NR",
                  x.source.key or x.source.url or "")
    console.print(t)


@kb_app.command("provenance")
def provenance() -> None:
    """Which database is in use and which curated dataset and imports contributed (JSON)."""
    typer.echo(json.dumps(_kb().provenance(), indent=1))
