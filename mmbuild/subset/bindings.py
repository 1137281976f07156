"""Generate the reduced ``pybind.cpp`` and ``cuda/cudabind.cpp`` of a subset build.

``pybind.cpp`` keeps its declarations and every ``m.def`` whose function is built;
every other ``m.def`` keeps its name but binds a function that raises a
RuntimeError naming the op and the command that builds it, so mmcv's Python
loader (which asserts that every name exists) still imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mmbuild.errors import MmbuildError
from mmbuild.subset.cxx import Chunk, matching_close, strip_comments_and_literals

GENERATED_MARK = "// mmbuild subset:"
_MODULE = re.compile(r"PYBIND11_MODULE\s*\(")
_DEF = re.compile(r'^\s*m\.def\(\s*"(\w+)"\s*,\s*&?\s*([\w:]+)', re.S)


def not_built_message(op: str, built: list[str]) -> str:
    rebuild = ",".join(sorted({*built, op}))
    return (f"mmcv op '{op}' was not built by this mmbuild subset (built: {', '.join(built)}); "
            f"rebuild with: mmbuild install --ops {rebuild}")


def _stub(name: str, message: str, indent: str) -> str:
    literal = message.replace("\\", "\\\\").replace('"', '\\"')
    return (f'{indent}m.def("{name}", [](py::args, py::kwargs) -> py::object {{\n'
            f'{indent}  throw std::runtime_error("{literal}");\n'
            f'{indent}}}, "{name} (not built in this mmbuild subset)");')


def _module_statements(text: str) -> tuple[int, int, list[tuple[int, int]]]:
    """(body start, body end, statement spans) of the PYBIND11_MODULE block."""
    code = strip_comments_and_literals(text)
    match = _MODULE.search(code)
    if match is None:
        raise MmbuildError("pybind.cpp has no PYBIND11_MODULE block; this mmcv source is not supported "
                           "by subset builds", fix="build all ops (leave out --ops)")
    open_brace = code.index("{", matching_close(code, match.end() - 1))
    close_brace = matching_close(code, open_brace)
    spans, start, i = [], open_brace + 1, open_brace + 1
    while i < close_brace:
        if code[i] in "({[":
            i = matching_close(code, i) + 1
            continue
        if code[i] == ";":
            spans.append((start, i + 1))
            start = i + 1
        i += 1
    return open_brace + 1, close_brace, spans


def bound_functions(text: str) -> list[tuple[str, str]]:
    """(python name, C++ function) of every ``m.def`` in pybind.cpp."""
    _, _, spans = _module_statements(text)
    found = []
    for start, end in spans:
        match = _DEF.match(text[start:end])
        if match:
            found.append((match.group(1), match.group(2).split("::")[-1]))
    return found


def rewrite_pybind(text: str, is_built: Callable[[str], bool], message_for: Callable[[str], str],
                   header: str) -> tuple[str, list[str], dict[str, str]]:
    """The new pybind.cpp, the kept names and {stubbed name: message}."""
    _, _, spans = _module_statements(text)
    pieces, last = [], 0
    kept: list[str] = []
    stubbed: dict[str, str] = {}
    for start, end in spans:
        statement = text[start:end]
        match = _DEF.match(statement)
        if match is None:
            continue
        name, function = match.group(1), match.group(2).split("::")[-1]
        if is_built(function):
            kept.append(name)
            continue
        message = message_for(function)
        stubbed[name] = message
        lead = statement[:len(statement) - len(statement.lstrip())]
        indent = lead.rsplit("\n", 1)[-1]
        pieces.append(text[last:start])
        pieces.append(lead[:len(lead) - len(indent)] + _stub(name, message, indent))
        last = end
    pieces.append(text[last:])
    return f"{header}\n{''.join(pieces)}", kept, stubbed


def rewrite_cudabind(text: str, chunks: list[Chunk], keep: Iterable[int], header: str) -> str:
    """cudabind.cpp with only the chunks numbered in ``keep`` (the rest of the text stays)."""
    keep = set(keep)
    pieces, last = [], 0
    for number, chunk in enumerate(chunks):
        if number in keep:
            continue
        pieces.append(text[last:chunk.start])
        last = chunk.end
        while last < len(text) and text[last] in " \t":
            last += 1
        if last < len(text) and text[last] == "\n":
            last += 1
    pieces.append(text[last:])
    return f"{header}\n{''.join(pieces)}"
