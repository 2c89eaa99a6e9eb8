"""Read a corpus file chunk by chunk into :func:`~arnews_ml.data.io.read_table`'s canonical frame,
for corpora larger than memory: the same ids, texts and read-time errors, a bounded number of rows
in memory at a time."""

from __future__ import annotations

import csv
import gzip
import logging
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from arnews_ml.data.encoding import decode_text
from arnews_ml.data.io import (
    SUPPORTED_SUFFIXES,
    _canonical,
    _read_csv_rows,
    _read_jsonl,
    _suffix,
    read_source,
)
from arnews_ml.data.schema import ColumnMap, missing_column_message
from arnews_ml.exceptions import DataError

__all__ = ["DEFAULT_CHUNK_ROWS", "MAX_RECORD_LINES", "TableStream", "iter_table"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 10_000
"""Rows per chunk when none is given: a few MB of short articles."""

MAX_RECORD_LINES = 100_000
"""A CSV record running on for more lines than this (a quote that never closes) is cut there
and its lines quarantined, so that one stray quote cannot pull the rest of a file into memory."""

_GZIP_MAGIC = b"\x1f\x8b"
_SINGLE_BYTE = ("cp1256", "iso8859-6")
_LINE_NUMBER = re.compile(r"\b(lines?) (\d+)(?:-(\d+))?")


class _Overlong(Exception):
    """A CSV record runs on past the line limit of one chunk (an unbalanced quote)."""


class _LineFeed:
    """Physical lines of a binary stream for :mod:`csv`, kept (as bytes) until taken.

    The csv reader sees each line decoded as latin-1: every byte stays one character, so the
    quotes, separators and newlines it looks for are where they are in UTF-8 or cp1256. A
    record longer than ``limit`` lines (a quote that never closes) raises :class:`_Overlong`.
    """

    def __init__(self, lines: Iterator[bytes], limit: int) -> None:
        self.lines = lines
        self.limit = limit
        self.held: list[bytes] = []
        self.record_start = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if len(self.held) - self.record_start >= self.limit:
            raise _Overlong
        line = next(self.lines)
        self.held.append(line)
        return line.decode("latin-1")

    def end_record(self) -> None:
        """The csv reader has returned a record: the next line starts a new one."""
        self.record_start = len(self.held)

    def take(self) -> list[bytes]:
        held, self.held = self.held, []
        self.record_start = 0
        return held


class TableStream:
    """The canonical frames of one corpus file, ``chunk_rows`` rows at a time.

    Concatenated, the chunks equal :func:`~arnews_ml.data.io.read_table`'s frame: ids
    (generated ``<file stem>:<row>`` with the file's own row numbers), texts, and read-time
    errors (broken JSON lines, rows merged by a stray quote, lines in another encoding) with
    their file line numbers. Formats: JSONL/NDJSON and CSV/TSV (plain or gzip), read line by
    line; Parquet, read by record batches; a text folder is read whole and handed out in chunks.

    Differences from a whole-file read, all about files that are broken anyway: the share of
    broken lines that refuses a file (``MAX_BROKEN_LINE_SHARE``) is judged per chunk; a file
    whose chunks disagree on the encoding (UTF-8 first, Windows-1256 later) is refused with the
    fix; a CSV record that runs on for more than :data:`MAX_RECORD_LINES` lines (a quote that
    never closes) is cut there and quarantined line by line; numeric (epoch) dates take their
    unit from each chunk.

    Attributes:
        path: The file or folder.
        n_rows: Rows yielded so far.
        total_rows: The file's row count when known before reading (Parquet, text folder).
    """

    def __init__(
        self,
        path: str | Path,
        columns: ColumnMap | None = None,
        *,
        encoding: str = "auto",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        self.path = Path(path)
        self.columns = columns if columns is not None else ColumnMap()
        self.encoding = encoding
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise DataError(f"chunk_rows must be a positive integer, got {chunk_rows!r}.")
        self.chunk_rows = chunk_rows
        self.n_rows = 0
        self.total_rows: int | None = None
        self._raw: IO[bytes] | None = None
        self._all_read = False
        self._size = 0
        if not self.path.exists():
            raise DataError(
                f"The corpus path {self.path} does not exist (resolved: {self.path.resolve()})."
            )
        if not self.path.is_dir():
            suffix = _suffix(self.path)
            if suffix not in SUPPORTED_SUFFIXES:
                raise DataError(
                    f"Unsupported file type {suffix or '(no extension)'!r} for {self.path}; "
                    f"supported: {', '.join(SUPPORTED_SUFFIXES)}, or a folder laid out as "
                    "<root>/<label>/<file>.txt."
                )
            self._size = os.path.getsize(self.path)

    @property
    def fraction_read(self) -> float | None:
        """How much of the input has been read (0..1), or None when it cannot be told."""
        if self.total_rows:
            return min(1.0, self.n_rows / self.total_rows)
        if self._all_read:
            return 1.0
        if self._raw is not None and self._size:
            try:
                return min(1.0, self._raw.tell() / self._size)
            except (OSError, ValueError):
                return None
        return None

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self.path.is_dir():
            chunks = self._text_folder()
        else:
            suffix = _suffix(self.path)
            if suffix in (".parquet", ".pq"):
                chunks = self._parquet()
            elif suffix.startswith((".jsonl", ".ndjson")):
                chunks = self._jsonl()
            else:
                chunks = self._csv("\t" if suffix.startswith(".tsv") else ",")
        for frame in chunks:
            if len(frame):
                self.n_rows += len(frame)
                yield frame
        if self.n_rows == 0:
            raise DataError(f"{self.path} has no records. Check the file, or leave it out.")
        logger.info(
            "read_table path=%s rows=%d chunked=%d", self.path, self.n_rows, self.chunk_rows
        )

    # ------------------------------------------------------------------ formats

    def _text_folder(self) -> Iterator[pd.DataFrame]:
        frame, _ = read_source(self.path, self.columns, self.encoding)
        self.total_rows = len(frame)
        for start in range(0, len(frame), self.chunk_rows):
            yield frame.iloc[start : start + self.chunk_rows].reset_index(drop=True)

    def _parquet(self) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        try:
            source = pq.ParquetFile(self.path)
        except (OSError, ValueError) as exc:
            raise DataError(f"Cannot read {self.path} as Parquet: {exc}") from None
        names = source.schema_arrow.names
        if self.columns.text not in names:
            raise DataError(
                missing_column_message(
                    "text", self.columns.text, self.path.name, names, "text_column"
                )
            )
        wanted = {
            self.columns.text,
            self.columns.id,
            self.columns.labels,
            self.columns.date,
            self.columns.source,
            self.columns.title,
            "split",
            *(self.columns.label_columns or ()),
        }
        read = [n for n in names if n in wanted]
        self.total_rows = source.metadata.num_rows
        offset = 0
        try:
            for batch in source.iter_batches(batch_size=self.chunk_rows, columns=read):
                raw = batch.to_pandas().reset_index(drop=True)
                raw.columns = [str(c) for c in raw.columns]
                rows = np.arange(offset + 1, offset + len(raw) + 1, dtype=np.int64)
                offset += len(raw)
                yield _canonical(raw, self.columns, self.path, rows, [None] * len(raw))
        except OSError as exc:
            raise DataError(f"Cannot read {self.path} as Parquet: {exc}") from None

    def _lines(self) -> Iterator[bytes]:
        """The file's physical lines (split at ``\\n``), decompressed when it is gzip."""
        with open(self.path, "rb") as raw:
            self._raw = raw
            gzipped = self.path.suffix.lower() == ".gz" or raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            try:
                if gzipped:
                    with gzip.GzipFile(fileobj=raw) as unzipped:
                        yield from unzipped
                else:
                    yield from raw
                self._all_read = True
            except (OSError, EOFError, zlib.error) as exc:
                raise DataError(
                    f"Cannot decompress {self.path}: {exc}. Is it a complete gzip file?"
                ) from None
            finally:
                self._raw = None

    def _jsonl(self) -> Iterator[pd.DataFrame]:
        lines_before = 0
        held: list[bytes] = []
        n_records = 0
        decoder = _ChunkDecoder(self.path, self.encoding)
        for line in self._lines():
            held.append(line)
            if line.strip():
                n_records += 1
            if n_records >= self.chunk_rows:
                yield self._jsonl_chunk(held, lines_before, decoder)
                lines_before += len(held)
                held, n_records = [], 0
        if n_records:
            yield self._jsonl_chunk(held, lines_before, decoder)

    def _jsonl_chunk(
        self, held: list[bytes], lines_before: int, decoder: _ChunkDecoder
    ) -> pd.DataFrame:
        text, used, foreign = decoder.decode(b"".join(held), lines_before)
        raw, rows, errors, raw_lines = _read_jsonl(text, self.path, foreign, used)
        errors = [_shift_error(e, lines_before) for e in errors]
        return _canonical(raw, self.columns, self.path, rows + lines_before, errors, raw_lines)

    def _csv(self, sep: str) -> Iterator[pd.DataFrame]:
        csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
        feed = _LineFeed(self._lines(), limit=MAX_RECORD_LINES)
        decoder = _ChunkDecoder(self.path, self.encoding)
        header: bytes | None = None
        lines_before = 0  # data lines (after the header) before the current chunk
        n_records = 0
        while True:
            try:
                for fields in csv.reader(feed, delimiter=sep):
                    feed.end_record()
                    if header is None:
                        if fields:
                            header = b"".join(feed.take())
                        continue
                    n_records += bool(fields)
                    if n_records >= self.chunk_rows:
                        body = feed.take()
                        yield self._csv_chunk(header, body, lines_before, sep, decoder)
                        lines_before += len(body)
                        n_records = 0
                break
            except _Overlong:
                if header is None:
                    header = b"".join(feed.take())  # a header that never ends: refused below
                body = feed.take()
                yield self._csv_chunk(header, body, lines_before, sep, decoder)
                lines_before += len(body)
                n_records = 0
            except csv.Error as exc:
                raise DataError(
                    f"Cannot parse {self.path} as {'TSV' if sep == chr(9) else 'CSV'} near data "
                    f"line {lines_before + len(feed.held)}: {exc}."
                ) from None
        if header is None:
            raise DataError(f"{self.path} is empty (no header, no rows).")
        body = feed.take()
        if n_records:
            yield self._csv_chunk(header, body, lines_before, sep, decoder)

    def _csv_chunk(
        self, header: bytes, body: list[bytes], lines_before: int, sep: str, decoder: _ChunkDecoder
    ) -> pd.DataFrame:
        if header and not header.endswith(b"\n"):
            header += b"\n"
        text, used, foreign = decoder.decode(header + b"".join(body), lines_before)
        raw, rows, errors, raw_lines = _read_csv_rows(text, self.path, sep, foreign, used)
        errors = [_shift_error(e, lines_before) for e in errors]
        return _canonical(raw, self.columns, self.path, rows + lines_before, errors, raw_lines)


class _ChunkDecoder:
    """Decode the chunks of one file with one encoding, as a whole-file read would.

    With ``auto`` the first chunk that is not plain ASCII decides (UTF-8 or Windows-1256);
    in a Windows-1256 file a chunk made only of UTF-8 lines has each of them reported as
    foreign (mixed encodings), as in a whole-file read.
    """

    def __init__(self, path: Path, encoding: str) -> None:
        self.path = path
        self.requested = encoding
        self.used: str | None = None

    def decode(self, data: bytes, lines_before: int) -> tuple[str, str, dict[int, str]]:
        if data.isascii():
            return data.decode("ascii"), self.used or "utf-8", {}
        name = f"{self.path} (the chunk from data line {lines_before + 1})"
        if self.used in _SINGLE_BYTE and _is_utf8(data):
            lines = data.split(b"\n")
            foreign = {i: "utf-8" for i, part in enumerate(lines, 1) if not part.isascii()}
            return data.decode("utf-8-sig"), self.used, foreign
        text, used, foreign = decode_text(data, encoding=self.requested, name=name)
        if self.used is None:
            self.used = used
        elif used != self.used:
            raise DataError(
                f"{name} is {used} but the lines before it were {self.used}: the file mixes "
                f"encodings. Re-save it in one encoding (UTF-8), or pass the encoding "
                f"(data.encoding / --encoding {used})."
            )
        return text, used, foreign


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shift_error(error: tuple[str, str] | None, lines_before: int) -> tuple[str, str] | None:
    """A read-time error of a chunk with the line numbers of the whole file."""
    if error is None or not lines_before:
        return error

    def shift(match: re.Match[str]) -> str:
        first = int(match.group(2)) + lines_before
        if match.group(3) is None:
            return f"{match.group(1)} {first}"
        return f"{match.group(1)} {first}-{int(match.group(3)) + lines_before}"

    return error[0], _LINE_NUMBER.sub(shift, error[1])


def iter_table(
    path: str | Path,
    columns: ColumnMap | None = None,
    *,
    encoding: str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> TableStream:
    """The canonical frames of a corpus file, ``chunk_rows`` rows at a time.

    Args:
        path: A CSV, TSV, JSONL/NDJSON (each optionally ``.gz``) or Parquet file, or a text
            folder (read whole).
        columns: Input column names (defaults: :class:`~arnews_ml.data.schema.ColumnMap`).
        encoding: ``auto`` or a codec name (``utf-8``, ``cp1256``).
        chunk_rows: Rows per chunk (the last one may have fewer).

    Returns:
        A :class:`TableStream`: iterate it for the frames (concatenated they equal
        :func:`~arnews_ml.data.io.read_table`'s); ``fraction_read`` tells the progress.

    Raises:
        DataError: Missing file or unsupported type at once; undecodable bytes, a missing
            text column or a mostly-broken chunk while iterating.
    """
    return TableStream(path, columns, encoding=encoding, chunk_rows=chunk_rows)
