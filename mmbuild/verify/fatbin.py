"""Reading the GPU code embedded in a shared library: ELF ``.nv_fatbin`` -> fatbinary entries.

A fatbinary is a header (magic 0xBA55ED50, version, header size, payload size) followed by
entries; each entry starts with (kind: 1 PTX, 2 ELF/SASS; ...; header size; payload size;
...; arch as major*10+minor). Several fatbinaries may sit back to back in the section.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

FATBIN_MAGIC = 0xBA55ED50
KIND_PTX = 1
KIND_SASS = 2
_FATBIN_HEADER = struct.Struct("<IHHQ")      # magic, version, header size, payload size
_ENTRY_HEADER = struct.Struct("<HHIQIIII")   # kind, version, header size, payload size, _, _, _, arch


@dataclass
class EmbeddedCode:
    sass: list[int] = field(default_factory=list)   # e.g. [80, 90]
    ptx: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.sass and not self.ptx


class NotAnElfFile(ValueError):
    pass


def elf_section(data: bytes, name: str) -> bytes | None:
    """The bytes of section ``name`` of a 64-bit little-endian ELF file, or None when absent."""
    if data[:4] != b"\x7fELF":
        raise NotAnElfFile("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise NotAnElfFile("only 64-bit little-endian ELF files are supported")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(index: int) -> tuple[int, int, int]:
        base = shoff + index * shentsize
        name_offset, = struct.unpack_from("<I", data, base)
        offset, size = struct.unpack_from("<QQ", data, base + 0x18)
        return name_offset, offset, size

    _, strtab_offset, _ = header(shstrndx)
    for i in range(shnum):
        name_offset, offset, size = header(i)
        start = strtab_offset + name_offset
        section_name = data[start:data.index(b"\0", start)].decode(errors="replace")
        if section_name == name:
            return data[offset:offset + size]
    return None


def parse_fatbin(blob: bytes) -> EmbeddedCode:
    """Arches of the SASS and PTX entries of one or more concatenated fatbinaries."""
    code = EmbeddedCode()
    pos = 0
    while pos + _FATBIN_HEADER.size <= len(blob):
        magic, _, header_size, payload_size = _FATBIN_HEADER.unpack_from(blob, pos)
        if magic != FATBIN_MAGIC:
            pos += 8  # fatbinaries are 8-byte aligned; skip padding
            continue
        entry = pos + header_size
        end = entry + payload_size
        while entry + _ENTRY_HEADER.size <= min(end, len(blob)):
            kind, _, entry_header, entry_payload, _, _, _, arch = _ENTRY_HEADER.unpack_from(blob, entry)
            if entry_header == 0:
                break
            target = code.sass if kind == KIND_SASS else code.ptx if kind == KIND_PTX else None
            if target is not None and arch not in target:
                target.append(arch)
            entry += entry_header + entry_payload
        pos = end
    code.sass.sort()
    code.ptx.sort()
    return code


def read_embedded_code(path: str | Path) -> EmbeddedCode:
    """The GPU code inside a shared library; empty for a CPU-only build."""
    section = elf_section(Path(path).read_bytes(), ".nv_fatbin")
    return parse_fatbin(section) if section else EmbeddedCode()
