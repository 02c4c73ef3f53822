"""Writing site tables (TSV or parquet) at genome scale.

A genome-wide scan gives tens of millions of rows; pandas' ``to_csv`` writes about 0.7 M rows/s,
which would dominate the run. Here the table goes to Arrow with miRNA, target and site-type
columns dictionary-encoded (integer codes into the name lists, never one Python string per
row) and Arrow's multithreaded CSV writer formats it (about 7 M rows/s on 2 cores). Floats are
rounded to ``decimals`` places and written in their shortest form; NaN becomes an empty field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exomir.cargo.sites import SITE_TYPES, SiteTable
from exomir.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _site_columns(table: SiteTable) -> dict[str, Any]:
    import pyarrow as pa

    return {
        "mirna": pa.DictionaryArray.from_arrays(table.mirna, pa.array(table.mirna_names,
                                                                      pa.string())),
        "target": pa.DictionaryArray.from_arrays(table.target, pa.array(table.target_names,
                                                                        pa.string())),
        "site_type": pa.DictionaryArray.from_arrays(table.site_type,
                                                    pa.array(list(SITE_TYPES), pa.string())),
        "utr_start": pa.array(table.utr_start),
        "utr_end": pa.array(table.utr_end),
    }


def to_arrow(data: SiteTable | pd.DataFrame, extra: dict[str, np.ndarray] | None = None,
             decimals: int = 4) -> pa.Table:
    """Arrow table of sites (dictionary-encoded names) plus ``extra`` numeric columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(data, SiteTable):
        cols = _site_columns(data)
    else:
        cols = {c: pa.array(data[c].to_numpy(), from_pandas=True) for c in data.columns}
    for k, v in (extra or {}).items():
        cols[k] = pa.array(v, from_pandas=True)  # NaN -> null
    for k, col in cols.items():
        if pa.types.is_floating(col.type):  # + 0.0 turns -0.0 into 0.0
            cols[k] = pc.add(pc.round(col, ndigits=decimals), pa.scalar(0.0, col.type))
    return pa.table(cols)


def _needs_quotes(table: pa.Table) -> bool:
    """Whether any string (or dictionary of strings) holds a tab, quote or line break."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for col in table.columns:
        arr = col.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary
        is_text = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        if is_text and pc.any(pc.match_substring_regex(arr, "[\t\"\r\n]")).as_py():
            return True
    return False


class SiteWriter:
    """Append site tables chunk by chunk to one ``.tsv``/``.parquet`` file (or TSV to stdout
    when ``path`` is None); use as a context manager."""

    def __init__(self, path: Path | None, decimals: int = 4) -> None:
        if path is not None and path.suffix not in (".tsv", ".parquet"):
            raise InputError("output must end in .tsv or .parquet", field="out",
                             value=str(path))
        self.path = path
        self.decimals = decimals
        self.rows = 0
        self._sink: Any = None
        self._parquet: Any = None
        self._header: list[str] | None = None

    def __enter__(self) -> SiteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: SiteTable | pd.DataFrame | pa.Table,
              extra: dict[str, np.ndarray] | None = None) -> None:
        """Append rows (the columns must be the same in every call)."""
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        table = data if isinstance(data, pa.Table) else to_arrow(data, extra, self.decimals)
        self.rows += table.num_rows
        if self.path is not None and self.path.suffix == ".parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
            return
        if self._sink is None:
            self._sink = sys.stdout.buffer if self.path is None else self.path.open("wb")
            self._header = table.column_names
            self._sink.write(("\t".join(self._header) + "\n").encode())
        quoting = "needed" if _needs_quotes(table) else "none"
        pcsv.write_csv(table, self._sink, pcsv.WriteOptions(
            include_header=False, delimiter="\t", quoting_style=quoting))

    def close(self) -> None:
        """Flush and close the file (stdout is flushed, not closed)."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._sink is not None:
            self._sink.flush()
            if self.path is not None:
                self._sink.close()
            self._sink = None


def write_sites(data: SiteTable | pd.DataFrame | pa.Table, path: Path | None,
                extra: dict[str, np.ndarray] | None = None, decimals: int = 4) -> None:
    """Write sites to ``path`` (``.tsv`` or ``.parquet``) or as TSV to stdout (``None``)."""
    with SiteWriter(path, decimals) as w:
        w.write(data, extra)
