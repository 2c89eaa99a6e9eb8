"""Corpus bytes to text and physical lines: UTF-8 (with or without BOM) or Windows-1256, never
mojibake silently; a CSV record's file lines, to tell a stray quote from a multi-line field."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable
from pathlib import Path

from arnews_ml.exceptions import ConfigError, DataError

__all__ = [
    "csv_record_spans",
    "decode_bytes",
    "decode_text",
    "is_stray_quote",
    "mixed_detail",
    "read_bytes",
]

# Arabic letters (not digits or punctuation): proof that a cp1256 decoding makes sense.
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]")
# Two letters of Arabic proper (no Persian/Urdu extras, whose cp1256 bytes are UTF-8 trail
# bytes), harakat between them allowed.
_ARABIC_WORD = re.compile(
    "[\u0621-\u063a\u0641-\u064a][\u064b-\u0652]*[\u0621-\u063a\u0641-\u064a]"
)
_GZIP_MAGIC = b"\x1f\x8b"
# Single-byte codecs in which a line that is valid non-ASCII UTF-8 can only be a foreign line.
_SINGLE_BYTE = ("cp1256", "iso8859-6")


def _canonical_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"Unknown data.encoding {encoding!r}; use auto, utf-8 or cp1256 "
            "(Windows Arabic), or another Python codec name."
        ) from None
    # A BOM is never text: plain utf-8 also strips it.
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def _decode_error(name: str, exc: UnicodeDecodeError, data: bytes, tried: str, fix: str) -> str:
    byte = data[exc.start : exc.start + 1].hex()
    line = data.count(b"\n", 0, exc.start) + 1
    return (
        f"Cannot decode {name}: byte 0x{byte} at offset {exc.start} (line {line}) is not valid "
        f"{tried}. "
        f"{fix} Nothing was read, to avoid mojibake."
    )


def decode_text(
    data: bytes, *, encoding: str = "auto", name: str = "<bytes>"
) -> tuple[str, str, dict[int, str]]:
    """Like :func:`decode_bytes`, also returning the lines found in another encoding.

    A file can mix encodings line by line: a Windows-1256 file with lines pasted in as UTF-8
    (decoded as cp1256 they would be mojibake, ``ط§ظ„`` for ``ال``), or a UTF-8 file with
    lines pasted in as cp1256 (not valid UTF-8). The file's encoding is the one of most of its
    non-ASCII lines (split at ``\\n``); each line in the other encoding is decoded in its own
    encoding, so no mojibake is ever produced, and reported so that the reader can quarantine
    the row it belongs to (the file is mixed; the row is corrupt, not data). When the other
    encoding's lines are not fewer than the file's own, the file is refused with their line
    numbers (nothing to tell which is right).

    Returns:
        ``(text, encoding_used, foreign)``; ``foreign`` maps 1-based line numbers to the
        encoding they were decoded in (``utf-8`` or ``cp1256``), empty when the file has one
        encoding.

    Raises:
        DataError: The bytes cannot be decoded, or the foreign lines are as many as the
            file's own; names the file, the lines (or byte offset) and the fix.
    """
    auto = encoding.lower() == "auto"
    codec = "auto" if auto else _canonical_encoding(encoding)
    if codec in ("auto", "utf-8-sig"):
        try:
            return data.decode("utf-8-sig"), "utf-8", {}
        except UnicodeDecodeError as exc:
            mixed = _utf8_with_cp1256_lines(data, auto=auto, name=name, exc=exc)
        if isinstance(mixed, tuple):
            return mixed
        if mixed == "cp1256":  # most non-ASCII lines are cp1256: a cp1256 file
            encoding = "cp1256"
    text, used = _decode_whole(data, encoding, name)
    if used not in _SINGLE_BYTE or data.isascii():
        return text, used, {}
    parts = data.split(b"\n")
    foreign: dict[int, str] = {}
    n_own = 0
    for lineno, part in enumerate(parts, start=1):
        if not part.isascii():
            try:
                part.decode("utf-8")
            except UnicodeDecodeError:
                n_own += 1
                continue
            foreign[lineno] = "utf-8"
    if not foreign:
        return text, used, {}
    if len(foreign) >= n_own:
        raise DataError(
            f"Cannot decode {name} as {used}: {len(foreign)} of {len(foreign) + n_own} non-ASCII "
            f"lines are UTF-8 ({_line_list(foreign)}), too many to quarantine as rows in "
            f"another encoding. Set data.encoding=auto or data.encoding=utf-8, or re-save the "
            "whole file in one encoding. Nothing was read, to avoid mojibake."
        )
    lines = [
        part.decode("utf-8-sig" if i == 1 else "utf-8") if i in foreign else part.decode(used)
        for i, part in enumerate(parts, start=1)
    ]
    return "\n".join(lines), used, foreign


def _line_list(lines: Iterable[int], limit: int = 10) -> str:
    numbers = sorted(lines)
    shown = ", ".join(map(str, numbers[:limit]))
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _line_kind(part: bytes) -> str:
    """``ascii``, ``utf-8``, ``cp1256`` (not UTF-8, and Arabic as cp1256) or ``broken``
    (corrupt UTF-8 Arabic, or bytes that are neither)."""
    if part.isascii():
        return "ascii"
    try:
        part.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    as_utf8 = part.decode("utf-8", errors="replace")
    if len(_ARABIC_LETTER.findall(as_utf8)) > as_utf8.count("\ufffd"):
        return "broken"  # UTF-8 Arabic with a few bad bytes: cp1256 would be mojibake
    # A word of Arabic: UTF-8 Latin read as cp1256 gives lone letters ("أ©" for "é").
    return "cp1256" if _ARABIC_WORD.search(part.decode("cp1256")) else "broken"


def _utf8_with_cp1256_lines(
    data: bytes, *, auto: bool, name: str, exc: UnicodeDecodeError
) -> tuple[str, str, dict[int, str]] | str | None:
    """A file that is not valid UTF-8, line by line: ``(text, "utf-8", foreign)`` when most
    non-ASCII lines are UTF-8 and the others cp1256; ``"cp1256"`` when (with ``auto``) most
    are cp1256; None when some line is neither (the whole-file checks then name it).

    Raises:
        DataError: As many cp1256 lines as UTF-8 ones (or, with an explicit utf-8, more).
    """
    parts = data.split(b"\n")
    if parts[0].startswith(codecs.BOM_UTF8):
        parts[0] = parts[0][len(codecs.BOM_UTF8) :]
    kinds = [_line_kind(part) for part in parts]
    if "broken" in kinds:
        return None
    own = [i for i, kind in enumerate(kinds, start=1) if kind == "utf-8"]
    other = [i for i, kind in enumerate(kinds, start=1) if kind == "cp1256"]
    if len(other) < len(own):
        lines = [
            part.decode("cp1256" if kind == "cp1256" else "utf-8")
            for part, kind in zip(parts, kinds, strict=True)
        ]
        return "\n".join(lines), "utf-8", dict.fromkeys(other, "cp1256")
    if auto and len(other) > len(own):
        return "cp1256"
    if not own:
        return None  # all cp1256 with an explicit utf-8: the whole-file error says so
    raise DataError(
        _decode_error(
            name,
            exc,
            data,
            "UTF-8",
            f"{len(other)} of {len(other) + len(own)} non-ASCII lines are cp1256 (Windows "
            f"Arabic: {_line_list(other)}) and {len(own)} are UTF-8 ({_line_list(own)}), "
            "too many to quarantine as rows in another encoding. Re-save the whole file in "
            "one encoding" + (" (or set data.encoding=auto)." if not auto else "."),
        )
    )


def mixed_detail(lines: list[int], foreign: dict[int, str], used: str) -> str:
    """The quarantine detail for a row on ``lines`` decoded in another encoding."""
    found = ", ".join(f"line {n} is {foreign[n]}" for n in lines)
    return (
        f"mixed encodings: {found} inside a file read as {used} (decoded as such, "
        "never as mojibake). Re-save the whole file in one encoding."
    )


def decode_bytes(data: bytes, *, encoding: str = "auto", name: str = "<bytes>") -> tuple[str, str]:
    """Decode file bytes to text with one strict policy for every text format.

    ``auto`` tries UTF-8 (a BOM is dropped) and, only when that fails, Windows-1256, accepting
    the latter only if the result contains Arabic letters and the bytes are not mostly valid
    Arabic UTF-8 with a few corrupt bytes. An explicit ``cp1256`` is refused for bytes that
    are valid non-ASCII UTF-8 (that would be mojibake). A file that mixes the two line by
    line is read in the encoding of most of its lines, each other line in its own (see
    :func:`decode_text`), never as mojibake.

    Args:
        data: The raw bytes (already decompressed).
        encoding: ``auto`` or a Python codec name (``utf-8``, ``cp1256``, ...).
        name: The file name for error messages.

    Returns:
        ``(text, encoding_used)``, where ``encoding_used`` is ``utf-8`` or the codec's name.

    Raises:
        DataError: The bytes cannot be decoded; names the file, byte offset and the fix.
        ConfigError: ``encoding`` is not a known codec.
    """
    text, used, _ = decode_text(data, encoding=encoding, name=name)
    return text, used


def _decode_whole(data: bytes, encoding: str, name: str) -> tuple[str, str]:
    if encoding.lower() == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as utf_err:
            as_utf8 = data.decode("utf-8-sig", errors="replace")
            n_invalid = as_utf8.count("\ufffd")
            if len(_ARABIC_LETTER.findall(as_utf8)) > n_invalid:
                # Arabic UTF-8 with a few corrupt bytes: cp1256 would turn it into mojibake.
                raise DataError(
                    _decode_error(
                        name,
                        utf_err,
                        data,
                        f"UTF-8 ({n_invalid} invalid sequence(s) in otherwise UTF-8 Arabic text)",
                        "Repair or re-export the file (it looks truncated or corrupted), or set "
                        "data.encoding=cp1256 if it really is Windows Arabic.",
                    )
                ) from None
            text = data.decode("cp1256", errors="replace")
            if _ARABIC_LETTER.search(text) and "\ufffd" not in text:
                return text, "cp1256"
            raise DataError(
                _decode_error(
                    name,
                    utf_err,
                    data,
                    "UTF-8, and as cp1256 (Windows Arabic) it gives no Arabic letters",
                    "Set data.encoding=cp1256 (or data.encoding=utf-8 after re-saving the file "
                    "as UTF-8), or data.encoding=<the codec the file was written in>.",
                )
            ) from None
    codec = _canonical_encoding(encoding)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        other = "cp1256" if codec == "utf-8-sig" else "utf-8"
        raise DataError(
            _decode_error(
                name, exc, data, codec, f"Set data.encoding={other} or data.encoding=auto."
            )
        ) from None
    if codec == "cp1256" and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise DataError(
                f"{name} is valid UTF-8 but data.encoding=cp1256 was requested; decoding it as "
                "cp1256 would give mojibake. Set data.encoding=utf-8 or data.encoding=auto."
            )
    return text, "utf-8" if codec == "utf-8-sig" else codec


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix.lower() == ".gz" or data[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"Cannot decompress {path}: {exc}. Is it a complete gzip file?"
            ) from None
    return data


# ---------------------------------------------------------------- physical lines of a CSV


def csv_record_spans(text: str, sep: str) -> tuple[list[tuple[int, int]], int, int] | None:
    """The file lines ``(first, last)`` of each data record as a CSV reader sees them, the
    header's last line and its column count; None when the text cannot be tokenised."""
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    spans: list[tuple[int, int]] = []
    header_end = ncols = last = 0
    try:
        for fields in reader:
            start, last = last + 1, reader.line_num
            if not fields:  # a blank line, skipped like pandas does
                continue
            if ncols:
                spans.append((start, last))
            else:
                header_end, ncols = last, len(fields)
    except csv.Error:
        return None
    return spans, header_end, ncols


def is_stray_quote(block: list[str], sep: str, ncols: int, at_end: bool) -> bool:
    """Whether a record's lines are rows merged by an unbalanced quote rather than one quoted
    field with newlines: its quoting is invalid (a quote closes and text follows it, or it
    never closes), or (3+ columns) an inner line without quotes is a whole row on its own."""
    try:
        list(csv.reader(io.StringIO("".join(block), newline=""), delimiter=sep, strict=True))
    except csv.Error as exc:
        return len(block) > 1 or (at_end and "end of data" in str(exc))
    return ncols >= 3 and any(
        '"' not in line and len(next(csv.reader([line.rstrip("\r\n")], delimiter=sep))) == ncols
        for line in block[1:]
        if line.strip()
    )
