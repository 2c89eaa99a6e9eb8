"""Read CSV/TSV/JSONL(.gz)/Parquet files and <root>/<label>/*.txt folders into the canonical frame."""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.data.encoding import (
    csv_record_spans,
    decode_bytes,
    decode_text,
    is_stray_quote,
    mixed_detail,
    read_bytes,
)
from arnews_ml.data.schema import (
    DATE_UNPARSEABLE_COL,
    ERROR_COL,
    ERROR_DETAIL_COL,
    FILE_COL,
    ID_GENERATED_COL,
    ROW_COL,
    ColumnMap,
    missing_column_message,
    normalize_split_values,
    parse_labels,
)
from arnews_ml.exceptions import DataError

__all__ = ["SUPPORTED_SUFFIXES", "decode_bytes", "read_source", "read_table"]

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".jsonl",
    ".ndjson",
    ".csv.gz",
    ".tsv.gz",
    ".jsonl.gz",
    ".ndjson.gz",
    ".parquet",
    ".pq",
)
"""File endings ``read_table`` understands; a directory is read as ``<root>/<label>/*.txt``."""

MAX_BROKEN_LINE_SHARE = 0.5
"""A JSONL file with more broken lines (or a CSV with more lines swallowed by a stray quote)
than this share is refused rather than quarantined."""

Error = tuple[str, str] | None  # a read-time problem of one row: (reason, detail)


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def _stem(path: Path) -> str:
    name = path.name
    suffix = _suffix(path)
    return name[: -len(suffix)] if suffix and name.lower().endswith(suffix) else path.stem


def _preview(text: str, width: int = 80) -> str:
    return text.replace("\n", " ")[:width]


def _read_delimited(text: str, path: Path, sep: str) -> pd.DataFrame:
    try:
        # Everything as str, nothing turned into NaN: ids like "007" and texts like "NA" survive.
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty (no header, no rows).") from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"Cannot parse {path} as {'TSV' if sep == chr(9) else 'CSV'}: {exc}. "
            "Check the quoting of fields that contain the separator or newlines."
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_csv_rows(
    text: str, path: Path, sep: str, foreign: dict[int, str], used: str
) -> tuple[pd.DataFrame, np.ndarray, list[Error], list]:
    """Read CSV/TSV accounting for every line. A stray quote makes a CSV parser read the next
    lines into one field up to the next quote (or the end), silently merging rows. Such a
    record is neither dropped nor kept: each of its non-blank lines becomes a quarantined row
    (``merged_lines``, raw line as text), so the counts add up to the file's data lines and the
    detail names them. (Refusing the file would lose every good row for one typo; keeping the
    record would store other rows inside its text.) A record on a line decoded in another
    encoding is quarantined as ``mixed_encoding``. Rows are numbered by the data line where the
    record starts (file line minus the header's lines).
    """
    scan = csv_record_spans(text, sep)
    lines = io.StringIO(text, newline="").readlines()
    spans, header_end, ncols = scan if scan else ([], 0, 0)
    merged = {
        i
        for i, (s, e) in enumerate(spans)
        if is_stray_quote(lines[s - 1 : e], sep, ncols, i == len(spans) - 1)
    }
    unclosed_at_end = bool(spans) and len(spans) - 1 in merged
    # pandas skips a line of spaces (a row of a one-column file whose text is blank): quoted,
    # it is read as the row the CSV reader sees, and quarantined as empty text.
    to_read = list(lines)
    for s, e in spans:
        content = lines[s - 1].rstrip("\r\n")
        if s == e and content and not content.strip(" " if sep == "\t" else " \t"):
            to_read[s - 1] = f'"{content}"' + lines[s - 1][len(content) :]
    try:
        raw = _read_delimited("".join(to_read), path, sep)
    except DataError:
        if not unclosed_at_end:
            raise
        raw = _read_delimited("".join(to_read[: spans[-1][0] - 1]), path, sep)
        if len(raw) != len(spans) - 1:
            raise
    if scan is None or len(raw) + unclosed_at_end != len(spans):  # not seen alike: plain rows
        logger.warning("read_table path=%s could not map CSV records to file lines", path)
        return raw, np.arange(1, len(raw) + 1, dtype=np.int64), [None] * len(raw), [None] * len(raw)
    bad_lines = sum(bool(x.strip()) for i in merged for x in lines[spans[i][0] - 1 : spans[i][1]])
    n_lines = sum(bool(x.strip()) for x in lines[header_end:])
    if merged and bad_lines > MAX_BROKEN_LINE_SHARE * n_lines:
        where = ", ".join(f"{spans[i][0]}-{spans[i][1]}" for i in sorted(merged))
        msg = f"{bad_lines} of {n_lines} data lines were swallowed by an unbalanced quote"
        raise DataError(f'{path}: {msg} (file lines {where}). Fix the stray " (write "a ""b"" c").')
    index, rows, errors, raw_lines = [], [], [], []  # index -1: a line of a merged record
    for i, (s, e) in enumerate(spans):
        if i in merged:
            detail = (
                f"file lines {s}-{e} were read as one row because of an unbalanced quote at "
                f"line {s}; each line is quarantined on its own"
                if e > s
                else f"an unbalanced quote at file line {s} is never closed"
            )
            for n in range(s, e + 1):
                if lines[n - 1].strip():
                    index.append(-1)
                    rows.append(n - header_end)
                    errors.append(("merged_lines", detail))
                    raw_lines.append(lines[n - 1].rstrip("\r\n"))
            continue
        index.append(i)
        rows.append(s - header_end)
        mixed = [n for n in range(s, e + 1) if n in foreign]
        errors.append(("mixed_encoding", mixed_detail(mixed, foreign, used)) if mixed else None)
        raw_lines.append(None)
    raw = raw.reindex(index).fillna("").reset_index(drop=True)
    return raw, np.asarray(rows, dtype=np.int64), errors, raw_lines


def _read_jsonl(
    text: str, path: Path, foreign: dict[int, str], used: str
) -> tuple[pd.DataFrame, np.ndarray, list[Error], list]:
    """Parse line by line: a broken line becomes an error row instead of aborting the file."""
    records: list[dict[str, Any]] = []
    rows: list[int] = []
    errors: list[Error] = []
    raw_lines: list[str | None] = []
    # Split on "\n" only: str.splitlines would also cut at U+2028 inside JSON strings.
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        rows.append(lineno)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            records.append({})
            errors.append(
                ("invalid_json", f"invalid JSON on line {lineno}: {exc.msg} (column {exc.colno})")
            )
            raw_lines.append(line)
            continue
        if not isinstance(record, dict):
            records.append({})
            errors.append(
                ("invalid_json", f"line {lineno} is a JSON {type(record).__name__}, not an object")
            )
            raw_lines.append(line)
            continue
        records.append(record)
        errors.append(
            ("mixed_encoding", mixed_detail([lineno], foreign, used)) if lineno in foreign else None
        )
        raw_lines.append(None)
    n_broken = sum(e is not None and e[0] == "invalid_json" for e in errors)
    if rows and n_broken / len(rows) > MAX_BROKEN_LINE_SHARE:
        first = next(e[1] for e in errors if e is not None and e[0] == "invalid_json")
        raise DataError(
            f"{path}: {n_broken} of {len(rows)} lines are not JSON objects (first: {first}). "
            "Is it really JSON Lines (one object per line)? A .json array or a CSV needs "
            "another format."
        )
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [str(c) for c in frame.columns]
    return frame, np.asarray(rows, dtype=np.int64), errors, raw_lines


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {path} as Parquet: {exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _read_text_folder(root: Path, encoding: str) -> tuple[pd.DataFrame, str]:
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() == ".txt" and not p.name.startswith(".")
    )
    if not files:
        raise DataError(
            f"The folder {root} has no .txt files; a text folder must be laid out as "
            "<root>/<label>/<file>.txt."
        )
    ids, texts, labels, file_names, errors = [], [], [], [], []
    used: Counter[str] = Counter()
    for path in files:
        rel = path.relative_to(root)
        text, enc, foreign = decode_text(path.read_bytes(), encoding=encoding, name=str(path))
        errors.append(mixed_detail(sorted(foreign), foreign, enc) if foreign else None)
        used[enc] += 1
        ids.append(rel.as_posix())
        texts.append(text)
        labels.append([rel.parts[0]] if len(rel.parts) > 1 else [])
        file_names.append(str(path))
    frame = pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=str),
            "text": pd.Series(texts, dtype=str),
            "labels": pd.Series(labels, dtype=object),
            "date": pd.Series(pd.NaT, index=range(len(files)), dtype="datetime64[us]"),
            "source": pd.Series([""] * len(files), dtype=str),
            "title": pd.Series([""] * len(files), dtype=str),
            FILE_COL: pd.Series(file_names, dtype=str),
            ROW_COL: np.ones(len(files), dtype=np.int64),
            ERROR_COL: pd.Series([e and "mixed_encoding" for e in errors], dtype=object),
            ERROR_DETAIL_COL: pd.Series(errors, dtype=object),
            ID_GENERATED_COL: np.zeros(len(files), dtype=bool),
            DATE_UNPARSEABLE_COL: np.zeros(len(files), dtype=bool),
        }
    )
    enc_used = (
        next(iter(used)) if len(used) == 1 else ", ".join(f"{k}={v}" for k, v in used.items())
    )
    return frame, enc_used


def _scalar_to_str(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text_column(raw: pd.DataFrame, column: str) -> pd.Series:
    values = raw[column]
    if values.dtype == object or not pd.api.types.is_string_dtype(values):
        values = values.astype(object).where(values.notna(), "")
    return values.fillna("").astype(str)


def _parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Vectorised ISO parse, per-element fallback only for what ISO missed; all to naive UTC."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
        return parsed.dt.tz_localize(None), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _parse_epoch(values)
    obj = values.astype(object)
    present = obj.notna() & (obj.astype(str).str.strip() != "")
    parsed = pd.to_datetime(obj.where(present), errors="coerce", format="ISO8601", utc=True)
    retry = present & parsed.isna()
    if retry.any():
        again = pd.to_datetime(obj[retry].astype(str), errors="coerce", format="mixed", utc=True)
        parsed = parsed.copy()
        parsed[retry] = again.astype(parsed.dtype)
    unparseable = (present & parsed.isna()).to_numpy()
    return parsed.dt.tz_localize(None), unparseable


def _parse_epoch(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numeric dates are Unix epoch times (pandas writes JSON dates as epoch milliseconds);
    the unit (s, ms, us, ns) follows from their magnitude."""
    numbers = pd.to_numeric(values, errors="coerce")
    magnitude = numbers.abs().median() if numbers.notna().any() else 0.0
    unit = (
        "s"
        if magnitude < 1e11
        else "ms"
        if magnitude < 1e14
        else "us"
        if magnitude < 1e17
        else "ns"
    )
    parsed = pd.to_datetime(numbers, unit=unit, errors="coerce", utc=True)
    unparseable = (values.notna() & parsed.isna()).to_numpy()
    return parsed.dt.tz_localize(None), unparseable


def _optional(raw: pd.DataFrame, columns: ColumnMap, field: str, path: Path) -> str | None:
    """The input column for ``field``, or None when absent (an explicit name must exist)."""
    name = getattr(columns, field)
    if name is None:
        return None
    if name in raw.columns:
        return name
    if columns.is_default(field):
        return None
    raise DataError(missing_column_message(field, name, path.name, raw.columns, f"{field}_column"))


def _canonical(
    raw: pd.DataFrame,
    columns: ColumnMap,
    path: Path,
    rows: np.ndarray,
    errors: Sequence[Error],
    raw_lines: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Map the input table onto the canonical columns, with provenance for validation."""
    raw = raw.reset_index(drop=True)
    n = len(raw)
    if columns.text not in raw.columns:
        raise DataError(
            missing_column_message("text", columns.text, path.name, raw.columns, "text_column")
        )
    text = _text_column(raw, columns.text)
    if raw_lines is not None:  # broken lines: keep the raw line as the text to quarantine
        text = text.where([line is None for line in raw_lines], pd.Series(raw_lines, dtype=object))
    id_col = _optional(raw, columns, "id", path)
    ids = (
        pd.Series([_scalar_to_str(v) for v in raw[id_col].to_numpy(dtype=object)], dtype=str)
        if id_col
        else pd.Series([""] * n, dtype=str)
    )
    generated = (ids == "").to_numpy()
    if generated.any():
        stem = _stem(path)
        ids[generated] = [f"{stem}:{r}" for r in rows[generated]]

    if columns.label_format != "onehot":
        _optional(raw, columns, "labels", path)  # an explicit, missing labels column fails here
    labels, label_errors = parse_labels(raw, columns, path.name)
    date_col = _optional(raw, columns, "date", path)
    if date_col:
        dates, unparseable = _parse_dates(raw[date_col])
    else:
        dates = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
        unparseable = np.zeros(n, dtype=bool)
    source_col = _optional(raw, columns, "source", path)
    title_col = _optional(raw, columns, "title", path)
    empty = pd.Series([""] * n, dtype=str)

    error_codes: list[str | None] = []
    error_details: list[str | None] = []
    for parse_err, label_err in zip(errors, label_errors, strict=True):
        if parse_err is not None:
            error_codes.append(parse_err[0])
            error_details.append(parse_err[1])
        elif label_err is not None:
            error_codes.append("invalid_labels")
            error_details.append(label_err)
        else:
            error_codes.append(None)
            error_details.append(None)

    frame = pd.DataFrame(
        {
            "id": ids,
            "text": text,
            "labels": pd.Series(labels, dtype=object),
            "date": dates.reset_index(drop=True),
            "source": _text_column(raw, source_col).str.strip() if source_col else empty,
            "title": _text_column(raw, title_col).str.strip() if title_col else empty,
        },
        index=pd.RangeIndex(n),
    )
    frame = frame.astype({"id": str, "text": str, "source": str, "title": str})
    if "split" in raw.columns:
        frame["split"] = normalize_split_values(raw["split"].reset_index(drop=True), path.name)
    frame[FILE_COL] = str(path)
    frame[ROW_COL] = rows
    frame[ERROR_COL] = pd.Series(error_codes, dtype=object)
    frame[ERROR_DETAIL_COL] = pd.Series(error_details, dtype=object)
    frame[ID_GENERATED_COL] = generated
    frame[DATE_UNPARSEABLE_COL] = unparseable
    return frame


def read_source(
    path: str | Path, columns: ColumnMap | None = None, encoding: str = "auto"
) -> tuple[pd.DataFrame, str]:
    """Like :func:`read_table`, also returning the encoding that was used.

    Returns:
        ``(frame, encoding_used)``; ``encoding_used`` is ``"binary"`` for Parquet.
    """
    path = Path(path)
    columns = columns if columns is not None else ColumnMap()
    if not path.exists():
        raise DataError(f"The corpus path {path} does not exist (resolved: {path.resolve()}).")
    if path.is_dir():
        frame, used = _read_text_folder(path, encoding)
        logger.info(
            "read_table path=%s format=text_folder rows=%d encoding=%s", path, len(frame), used
        )
        return frame, used
    suffix = _suffix(path)
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"Unsupported file type {suffix or '(no extension)'!r} for {path}; supported: "
            f"{', '.join(SUPPORTED_SUFFIXES)}, or a folder laid out as <root>/<label>/<file>.txt."
        )
    raw_lines = None
    if suffix in (".parquet", ".pq"):
        raw = _read_parquet(path)
        used = "binary"
        rows = np.arange(1, len(raw) + 1, dtype=np.int64)
        errors: list[Error] = [None] * len(raw)
    else:
        text, used, foreign = decode_text(read_bytes(path), encoding=encoding, name=str(path))
        if suffix.startswith((".jsonl", ".ndjson")):
            raw, rows, errors, raw_lines = _read_jsonl(text, path, foreign, used)
        else:
            sep = "\t" if suffix.startswith(".tsv") else ","
            raw, rows, errors, raw_lines = _read_csv_rows(text, path, sep, foreign, used)
    if len(raw) == 0:
        raise DataError(f"{path} has no records. Check the file, or leave it out.")
    frame = _canonical(raw, columns, path, rows, errors, raw_lines)
    logger.info(
        "read_table path=%s format=%s rows=%d encoding=%s",
        path,
        suffix.lstrip("."),
        len(frame),
        used,
    )
    return frame, used


def read_table(
    path: str | Path, columns: ColumnMap | None = None, encoding: str = "auto"
) -> pd.DataFrame:
    """Read one corpus file (or text folder) into the canonical frame, before validation.

    Formats: CSV, TSV, JSONL/NDJSON (each optionally ``.gz``), Parquet, and a directory laid
    out as ``<root>/<label>/<file>.txt`` (label = folder name, id = path relative to root).
    Text formats are decoded by :func:`decode_bytes` (UTF-8 with or without BOM, cp1256).

    Args:
        path: The file or folder.
        columns: Input column names and label format (defaults: :class:`ColumnMap`).
        encoding: ``auto`` or a codec name (``utf-8``, ``cp1256``).

    Returns:
        A frame with the canonical columns ``id, text, labels, date, source, title`` (plus
        ``split`` when the file has one) and private ``_``-prefixed provenance columns (file,
        1-based row, parse errors, flags) that :func:`arnews_ml.data.validate.validate` reads
        and drops. Missing ids are generated as ``<file stem>:<row>``; ``row`` is the line
        number for JSONL, the data line where the record starts (header excluded) for CSV/TSV
        and the 1-based record number for Parquet.

    Raises:
        DataError: Missing file, unsupported type, undecodable bytes, missing text column,
            or a mostly-broken JSONL file.
    """
    return read_source(path, columns, encoding)[0]
