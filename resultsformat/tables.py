"""Rows -> an Arrow table of exactly the declared schema, and the check that a file has it.

Every writer goes through `conform`: the table it writes has every declared
column, in the declared order, with the declared type (a column the producer
did not fill is null), and a key that is not declared is refused rather than
written, so the format cannot grow a column nobody documented.  Types are
fixed at write time, so parts of one sweep never disagree (a tick whose FID
was null would otherwise write a null-typed column that readers must promote).
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from resultsformat.columns import Column, schema


class FormatError(ValueError):
    """Rows that do not fit the results format: a programming error in a writer, named precisely."""


def _check_names(found: list[str], columns: tuple[Column, ...], what: str) -> None:
    declared = {c.name for c in columns}
    unknown = [n for n in found if n not in declared]
    if unknown:
        raise FormatError(f"{what}: undeclared column(s) {', '.join(unknown)}; declare them in resultsformat/columns.py")


def conform(data: Any, columns: tuple[Column, ...],
            what: str = "rows") -> pa.Table:
    """DATA (rows as dicts, a pandas DataFrame or an Arrow table) as a table with exactly COLUMNS (declared order
    and types, absent ones null); FormatError on an undeclared column.  pandas is never imported here."""
    target = schema(columns)
    if isinstance(data, list):
        _check_names(sorted({k for row in data for k in row}), columns, what)
        try:
            return pa.Table.from_pylist(data, schema=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise FormatError(f"{what}: {str(exc).splitlines()[0]}") from None
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    _check_names(table.column_names, columns, what)
    arrays = []
    for field in target:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        col = table.column(field.name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        try:
            arrays.append(col.cast(field.type) if col.type != field.type else col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FormatError(f"{what}: column {field.name!r} is not {field.type}: {str(exc).splitlines()[0]}") from None
    return pa.Table.from_arrays(arrays, schema=target)


def schema_problems(table_schema: pa.Schema, columns: tuple[Column, ...]) -> list[str]:
    """What in TABLE_SCHEMA breaks the format: undeclared, missing or wrongly typed columns (empty: it conforms)."""
    declared = {c.name: c.type for c in columns}
    found = dict(zip(table_schema.names, table_schema.types))
    problems = [f"undeclared column {n}" for n in found if n not in declared]
    problems += [f"missing column {n}" for n in declared if n not in found]
    problems += [f"column {n} is {found[n]}, declared {t}" for n, t in declared.items() if n in found and found[n] != t]
    return problems


def parquet_bytes(table: pa.Table, *, small: bool = False) -> bytes:
    """TABLE as Parquet.  SMALL (a few rows): no compression or statistics, which cost more than they save there."""
    buf = io.BytesIO()
    if small:
        pq.write_table(table, buf, compression="none", use_dictionary=False, write_statistics=False)
    else:
        pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()
