"""Streaming reader for GMT gene-set files (MSigDB, Enrichr).

One set per line, tab-separated: ``name, description, gene, gene, ...``. MSigDB puts a URL in
the description; Enrichr leaves it empty (``None`` here). Enrichr's older weighted libraries
write genes as ``SYMBOL,1.0``: the weight is dropped. Genes are kept in file order with
repeats removed. Set names must be unique; a set needs at least one gene.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from exomir.core.errors import InputError
from exomir.core.models import GeneSet
from exomir.formats._io import ReadStats, check_unique, read_lines

_WEIGHT_RE = re.compile(r",\s*-?\d+(\.\d*)?([eE][-+]?\d+)?$")


def read_gmt(
    path: str | Path,
    *,
    source: str | None = None,
    stats: ReadStats | None = None,
) -> Iterator[GeneSet]:
    """Yield :class:`GeneSet` s from a GMT file (plain, .gz or .zip).

    ``source`` is stored on every set (default: the file name). Blank lines and lines starting
    with ``#`` are skipped.
    """
    p = Path(path)
    label = source or p.name
    seen: dict[str, int] = {}
    any_rows = False
    n = 0
    for n, line in read_lines(p):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.rstrip("\t").split("\t")
        if len(cells) < 3:
            raise InputError(
                f"wrong number of columns ({len(cells)})", source=p, line=n, value=line[:60],
                accepted="name<TAB>description<TAB>gene[<TAB>gene...] (at least 3 columns)",
            )
        any_rows = True
        if stats is not None:
            stats.rows += 1
        name = cells[0].strip()
        if not name:
            raise InputError("empty gene-set name", source=p, line=n, field="name", value="")
        check_unique(seen, name, path=p, line=n, field="name")
        genes: dict[str, None] = {}
        for cell in cells[2:]:
            g = _WEIGHT_RE.sub("", cell.strip())
            if not g:
                continue
            if any(c.isspace() for c in g):
                raise InputError("gene symbol contains whitespace", source=p, line=n,
                                 field="gene", value=g, accepted="one symbol per tab-separated column")
            genes[g] = None
        if not genes:
            raise InputError("gene set has no genes", source=p, line=n, field="genes",
                             value=name, accepted="at least one gene symbol")
        if stats is not None:
            stats.kept += 1
        yield GeneSet(name=name, description=cells[1].strip() or None, genes=list(genes),
                      source=label)
    if not any_rows:
        raise InputError("no gene sets found", source=p, line=n, accepted="a GMT file")
