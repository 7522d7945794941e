"""Reading an import file into a table of strings, whatever its encoding and dialect.

CSV: the encoding is detected (a BOM, else strict UTF-8, else Windows-1252, else
Latin-1) or given; the delimiter is detected from the first rows (the candidate that
splits them into the most consistent number of fields) or given. Polars parses the file
(fast, multi-threaded). It would silently pad a short row and refuses a long one, so
every record is also counted here, vectorised over the file's lines and aware of quoted
fields spanning lines: a ragged record is kept as a row marked with its problem and its
line number, never stopping the rest. A file Polars cannot parse at all (a stray quote in
the middle of a field, …) is read again with Python's csv module, which is slower but
forgiving, with the same per-row reports.

XLSX (and XLS, ODS) is read with calamine; cells are turned into the strings a CSV export
of the sheet would hold (integral numbers without ".0", dates in ISO form).

Every value is a string or null (an empty cell); `__line` is the line (CSV) or row
(spreadsheet) where the record starts and `__problem` says why a row cannot be imported.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

LINE = "__line"
PROBLEM = "__problem"
# Excel's own limit for a cell; a longer one is a broken export or an attack.
MAX_CELL_CHARS = 32_767
DELIMITERS = (",", ";", "\t", "|")
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
# Bytes Windows-1252 leaves undefined: a file holding one is Latin-1 (C1 controls).
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_C1_RANGE = re.compile(rb"[\x80-\x9f]")


class ImportFileError(Exception):
    """The file cannot be read at all (not found, wrong encoding given, no header …)."""


@dataclass
class RawTable:
    """A file as read: its header and a frame of string cells, one row per record."""

    columns: list[str]
    frame: pl.DataFrame
    encoding: str | None
    delimiter: str | None

    @property
    def rows(self) -> int:
        return self.frame.height


# What a file starts with when it is not text (a CSV) or not the spreadsheet it says.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (an Excel file is .xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (save it as .xlsx or CSV)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
)
SNIFF_BYTES = 8192


def binary_problem(head: bytes, suffix: str) -> str | None:
    """Why a file whose first bytes are `head` cannot be the CSV or spreadsheet its
    suffix says, or None: refused before anything reads it as rows of garbage."""
    suffix = suffix.lower()
    if suffix in (".xlsx", ".ods"):
        return None if head.startswith(b"PK\x03\x04") else "it is not an Excel (XLSX) file"
    if suffix == ".xls":
        old_office = head.startswith(b"\xd0\xcf\x11\xe0") or head.startswith(b"PK\x03\x04")
        return None if old_office else "it is not an Excel file"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            return f"it is {what}, not a CSV file"
    if b"\x00" in head:
        return "it holds binary data, not text: export a CSV (or XLSX) from the program"
    return None


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    limit: int | None = None,
) -> RawTable:
    """Read a CSV or spreadsheet file; `limit` reads only about that many first records."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    with path.open("rb") as file:
        problem = binary_problem(file.read(SNIFF_BYTES), path.suffix)
    if problem is not None:
        raise ImportFileError(f"{path.name}: {problem}")
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        return _read_spreadsheet(path, sheet=sheet, limit=limit)
    data = path.read_bytes()
    encoding, text = decode(data, encoding)
    if limit is not None:
        text = _head(text, limit)
    delimiter = delimiter or detect_delimiter(text)
    return _read_csv_text(text, encoding=encoding, delimiter=delimiter)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The encoding's name and the text: a BOM, else strict UTF-8, else cp1252/Latin-1."""
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError as exc:
            raise ImportFileError(f"unknown encoding {encoding!r}") from exc
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        try:
            return codec, data.decode(codec)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"the file is not valid {encoding} (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", data.decode("utf-16", errors="replace")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Latin-1 and Windows-1252 agree everywhere but 0x80–0x9F, where Latin-1 has control
    # characters no one types and Windows-1252 has € “ ” – …: bytes there mean cp1252.
    if _C1_RANGE.search(data) and not _CP1252_UNDEFINED.search(data):
        return "cp1252", data.decode("cp1252")
    return "latin-1", data.decode("latin-1")


def detect_delimiter(text: str) -> str:
    """The candidate that splits the first rows into the most consistent field counts."""
    sample = _head(text, 50)
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        try:
            rows = [row for row in csv.reader(io.StringIO(sample), delimiter=candidate) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(len(row) == width for row in rows) / len(rows)
        score = (consistency, width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _head(text: str, records: int) -> str:
    """Roughly the first `records` lines (at least whole lines), for sniffing and previews."""
    end = 0
    for _ in range(records + 1):
        found = text.find("\n", end)
        if found < 0:
            return text
        end = found + 1
    return text[:end]


def _read_csv_text(text: str, *, encoding: str, delimiter: str) -> RawTable:
    if not text.strip():
        raise ImportFileError("the file is empty")
    if len(delimiter) != 1:
        raise ImportFileError(f"the delimiter must be one character, not {delimiter!r}")
    records = _count_records(text, delimiter)
    frame: pl.DataFrame | None = None
    try:
        frame = pl.read_csv(
            text.encode("utf-8"),
            has_header=False,
            separator=delimiter,
            quote_char='"',
            infer_schema=False,
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        frame = None
    if frame is None or records is None or frame.height != records.height:
        return _read_csv_python(text, encoding=encoding, delimiter=delimiter)
    frame = frame.with_columns(
        records["line"].alias(LINE), records["fields"].alias("__fields"), records["blank"]
    ).filter(~pl.col("blank"))
    if frame.is_empty():
        raise ImportFileError("the file has no header row")
    header = [value or "" for value in frame.row(0)[: frame.width - 3]]
    width = len(header)
    body = frame.slice(1)
    columns = _clean_header(header)
    body = body.rename(dict(zip(body.columns[:width], columns, strict=True))).with_columns(
        pl.when(pl.col("__fields") != width)
        .then(
            pl.format(
                "ragged row: {} fields where the header has " + str(width),
                pl.col("__fields"),
            )
        )
        .otherwise(None)
        .alias(PROBLEM)
    )
    body = body.select(*columns, LINE, PROBLEM)
    return RawTable(columns, _check_cells(body, columns), encoding, delimiter)


def _count_records(text: str, delimiter: str) -> pl.DataFrame | None:
    """Per CSV record, the line it starts on, its number of fields, and whether it is blank.

    Vectorised over the lines: a line ends a record when the quotes seen so far are
    balanced; delimiters count only outside quoted stretches. None when the file has a
    quote inside an unquoted field, which this count (and Polars) cannot follow.
    """
    lines = pl.Series("text", [text]).str.split("\n").explode()
    if text.endswith("\n"):
        lines = lines.slice(0, len(lines) - 1)
    df = pl.DataFrame({"text": lines}).with_columns(
        pl.col("text").str.strip_suffix("\r"), pl.int_range(1, pl.len() + 1).alias("line")
    )
    quotes = pl.col("text").str.count_matches('"', literal=True)
    df = df.with_columns(quotes=quotes).with_columns(
        after=pl.col("quotes").cum_sum(),
    )
    df = df.with_columns(
        inside=((pl.col("after") - pl.col("quotes")) % 2 == 1),
        ends=(pl.col("after") % 2 == 0),
    )
    outside = (
        pl.when(pl.col("quotes") == 0)
        .then(
            pl.when(pl.col("inside"))
            .then(pl.lit(0, dtype=pl.UInt32))
            .otherwise(pl.col("text").str.count_matches(delimiter, literal=True))
        )
        .otherwise(
            pl.when(pl.col("inside"))
            .then(pl.lit('"') + pl.col("text"))
            .otherwise(pl.col("text"))
            .str.replace_all(r'"[^"]*("|$)', "")
            .str.count_matches(delimiter, literal=True)
        )
    )
    # A quote may only open a field: right after a delimiter or at the start of a line.
    stray = (pl.col("quotes") > 0) & pl.col("text").str.contains(
        r'[^"' + re.escape(delimiter) + r']"[^"' + re.escape(delimiter) + r"]"
    )
    df = df.with_columns(outside=outside, stray=stray).with_columns(
        record=(pl.col("ends").cum_sum() - pl.col("ends").cast(pl.UInt32))
    )
    if df["stray"].any():
        return None
    records = (
        df.group_by("record", maintain_order=True)
        .agg(
            pl.col("line").first(),
            (pl.col("outside").sum() + 1).alias("fields"),
            ((pl.len() == 1) & (pl.col("text").first() == "")).alias("blank"),
        )
        .sort("record")
    )
    return records.select(pl.col("line").cast(pl.Int64), pl.col("fields").cast(pl.Int64), "blank")


def _read_csv_python(text: str, *, encoding: str, delimiter: str) -> RawTable:
    """The forgiving path: Python's csv module, record by record, with line numbers."""
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    cells: list[list[str | None]] = []
    lines: list[int] = []
    problems: list[str | None] = []
    previous = 0
    for row in reader:
        start, previous = previous + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0]):
            continue
        if header is None:
            header = row
            continue
        width = len(header)
        problems.append(
            None
            if len(row) == width
            else f"ragged row: {len(row)} fields where the header has {width}"
        )
        row = (row + [""] * width)[:width]
        cells.append([value or None for value in row])
        lines.append(start)
    if header is None:
        raise ImportFileError("the file has no header row")
    columns = _clean_header(header)
    frame = pl.DataFrame(
        {name: [row[i] for row in cells] for i, name in enumerate(columns)},
        schema={name: pl.String for name in columns},
    ).with_columns(
        pl.Series(LINE, lines, dtype=pl.Int64), pl.Series(PROBLEM, problems, dtype=pl.String)
    )
    return RawTable(columns, _check_cells(frame, columns), encoding, delimiter)


def _clean_header(header: list[str]) -> list[str]:
    """Header names made usable: trimmed, never empty, never twice, never our own."""
    names: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(header, start=1):
        name = (raw or "").strip().strip("\ufeff") or f"column {index}"
        if name in (LINE, PROBLEM):
            name = f"{name} (file)"
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate)
        names.append(candidate)
    return names


def _check_cells(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Mark rows holding a cell over the size limit (first such column named)."""
    if not columns or frame.is_empty():
        return frame
    too_long = [
        pl.when(pl.col(name).str.len_chars() > MAX_CELL_CHARS).then(
            pl.lit(f"{name}: cell longer than {MAX_CELL_CHARS} characters")
        )
        for name in columns
    ]
    return frame.with_columns(
        pl.coalesce(pl.col(PROBLEM), *too_long).alias(PROBLEM),
    )


def _read_spreadsheet(path: Path, *, sheet: str | None, limit: int | None) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        worksheet = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
        rows = worksheet.to_python(skip_empty_area=False, nrows=(limit + 50) if limit else None)
    except Exception as exc:  # calamine raises its own zoo of errors for bad files
        raise ImportFileError(f"cannot read the spreadsheet: {exc}") from exc
    header_at = next(
        (i for i, row in enumerate(rows) if any(v not in ("", None) for v in row)), None
    )
    if header_at is None:
        raise ImportFileError("the sheet is empty")
    columns = _clean_header([_cell_text(v) or "" for v in rows[header_at]])
    width = len(columns)
    cells: list[list[str | None]] = []
    lines: list[int] = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = [_cell_text(v) for v in row[:width]]
        if not any(values):
            continue
        cells.append(values + [None] * (width - len(values)))
        lines.append(number)
    frame = pl.DataFrame(
        {name: [row[i] for row in cells] for i, name in enumerate(columns)},
        schema={name: pl.String for name in columns},
    ).with_columns(
        pl.Series(LINE, lines, dtype=pl.Int64),
        pl.lit(None, dtype=pl.String).alias(PROBLEM),
    )
    return RawTable(columns, _check_cells(frame, columns), None, None)


def _cell_text(value: object) -> str | None:
    match value:
        case None | "":
            return None
        case bool():
            return "true" if value else "false"
        case float() if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        case dt.datetime():
            return value.isoformat(sep=" ")
        case dt.date() | dt.time():
            return value.isoformat()
        case str():
            return value
        case _:
            return str(value)
