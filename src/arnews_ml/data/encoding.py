"""Decoding corpus bytes: UTF-8 (with or without BOM) or Windows-1256, never mojibake silently."""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from pathlib import Path

from arnews_ml.exceptions import ConfigError, DataError

__all__ = ["decode_bytes", "read_bytes"]

# Arabic letters (not digits or punctuation): proof that a cp1256 decoding makes sense.
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]")
_GZIP_MAGIC = b"\x1f\x8b"


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
    return (
        f"Cannot decode {name}: byte 0x{byte} at offset {exc.start} is not valid {tried}. "
        f"{fix} Nothing was read, to avoid mojibake."
    )


def decode_bytes(data: bytes, *, encoding: str = "auto", name: str = "<bytes>") -> tuple[str, str]:
    """Decode file bytes to text with one strict policy for every text format.

    ``auto`` tries UTF-8 (a BOM is dropped) and, only when that fails, Windows-1256, accepting
    the latter only if the result contains Arabic letters and the bytes are not mostly valid
    Arabic UTF-8 with a few corrupt bytes. An explicit ``cp1256`` is refused for bytes that
    are valid non-ASCII UTF-8 (that would be mojibake).

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
