"""Reading logs as cleaned blocks of whole lines, streamed, whatever their encoding.

Blocks are bytes (about a mebibyte each) that end at a line break, except when a single line is
longer than the block size. Scanning bytes keeps keyword search fast whatever the text holds
(Chinese text would make a Python str four bytes a character); only the few lines worth a regex
are decoded, as UTF-8 with errors replaced (binary junk becomes U+FFFD). CRLF becomes LF and
ANSI escape sequences are removed. Line numbers stay those of the original file: only ``\\n``
ends a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO, Union

BLOCK_BYTES = 1 << 20

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), two-byte escapes.
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

LogSource = Union[str, bytes, BinaryIO, TextIO, Iterable[str]]


def clean(block: bytes) -> bytes:
    """Drop carriage returns before line breaks and ANSI escape sequences."""
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n")
    if b"\x1b" in block:
        block = _ANSI.sub(b"", block)
    return block


def decode(data: bytes) -> str:
    """UTF-8 with undecodable bytes replaced."""
    return data.decode("utf-8", errors="replace")


def _blocks_from_chunks(chunks: Iterable[bytes], block_bytes: int) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        if len(pending) < block_bytes:
            continue
        cut = pending.rfind(b"\n") + 1 or len(pending)
        yield clean(pending[:cut])
        pending = pending[cut:]
    if pending:
        yield clean(pending)


def _byte_chunks(source: LogSource, block_bytes: int) -> Iterable[bytes]:
    if isinstance(source, str):
        source = source.encode("utf-8", errors="surrogateescape")
    if isinstance(source, bytes):
        return (source[i:i + block_bytes] for i in range(0, len(source), block_bytes))
    read = getattr(source, "read", None)
    if read is not None:
        if isinstance(read(0), bytes):
            return iter(lambda: read(block_bytes), b"")
        texts = iter(lambda: read(block_bytes), "")
        return (text.encode("utf-8", errors="surrogateescape") for text in texts)
    return (line.encode("utf-8", errors="surrogateescape") for line in source)  # type: ignore[union-attr]


def iter_blocks(source: LogSource, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Cleaned byte blocks of whole lines from text, bytes, a binary or text stream, or lines."""
    return _blocks_from_chunks(_byte_chunks(source, block_bytes), block_bytes)
