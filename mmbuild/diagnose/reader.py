"""Reading logs as cleaned blocks of whole lines, streamed, whatever their encoding.

A block is a piece of text (about a mebibyte) that ends at a line break, except when a single
line is longer than the block size. Bytes are decoded as UTF-8 with errors replaced (binary
junk becomes U+FFFD), CRLF becomes LF, and ANSI escape sequences are removed. Line numbers stay
those of the original file: only ``\\n`` ends a line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO, Union

BLOCK_BYTES = 1 << 20

# CSI sequences (colours, cursor moves) and OSC sequences (titles, hyperlinks).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

LogSource = Union[str, bytes, BinaryIO, TextIO, Iterable[str]]


def clean(text: str) -> str:
    """Drop carriage returns before line breaks and ANSI escape sequences."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return text


def _split_whole_lines(pending: str, block_chars: int) -> tuple[str, str]:
    """(block to scan now, remainder): cut after the last line break, or anywhere in an overlong line."""
    cut = pending.rfind("\n") + 1
    if cut == 0:
        if len(pending) < block_chars:
            return "", pending
        cut = len(pending)
    return pending[:cut], pending[cut:]


def _blocks_from_chunks(chunks: Iterable[str], block_chars: int) -> Iterator[str]:
    pending = ""
    for chunk in chunks:
        pending += chunk
        if len(pending) < block_chars:
            continue
        block, pending = _split_whole_lines(pending, block_chars)
        if block:
            yield clean(block)
    if pending:
        yield clean(pending)


def _decoded_chunks(stream: BinaryIO, block_bytes: int) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        data = stream.read(block_bytes)
        if not data:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        yield decoder.decode(data)


def iter_blocks(source: LogSource, block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """Cleaned blocks of whole lines from text, bytes, a binary or text stream, or lines."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        text = source
        yield from _blocks_from_chunks(
            (text[i:i + block_bytes] for i in range(0, len(text), block_bytes)), block_bytes)
        return
    read = getattr(source, "read", None)
    if read is not None:
        probe = read(0)
        if isinstance(probe, bytes):
            yield from _blocks_from_chunks(_decoded_chunks(source, block_bytes), block_bytes)  # type: ignore[arg-type]
        else:
            yield from _blocks_from_chunks(iter(lambda: read(block_bytes), ""), block_bytes)
        return
    yield from _blocks_from_chunks(source, block_bytes)  # type: ignore[arg-type]
