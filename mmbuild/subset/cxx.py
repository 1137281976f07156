"""A small C++/CUDA source reader: just enough to index mmcv's op sources by symbol.

It does not parse C++. It blanks comments, literals and inactive preprocessor
branches (keeping every offset, so spans map back onto the original text), then
cuts the code into top-level chunks: declarations ending in ``;`` and
definitions ending in a ``}`` body. Namespaces are looked through.

Preprocessor conditionals on ``MMCV_WITH_*`` macros are decided (defined iff
listed in ``defined``); any other condition keeps every branch, which can only
make the index find more uses, never fewer.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_DECIDED_MACRO = re.compile(r"MMCV_WITH_\w+")
_DIRECTIVE = re.compile(r"#\s*(\w+)(.*)", re.S)
_DEFINED = re.compile(r"defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)")
_REGISTRATION = re.compile(r"\bREGISTER_DEVICE_IMPL\s*\(\s*(\w+)\s*,\s*(\w+)\s*,\s*([\w:]+)\s*\)")
_TEMPLATE_PREFIX = re.compile(r"^\s*template\s*<")
_TYPE_HEAD = re.compile(r"\b(struct|class|union)\s+(?:__align__\s*\(\s*\d+\s*\)\s*)?(\w+)\s*(<)?")

# Words that make a definition invisible to other translation units.
INTERNAL_SPECIFIERS = frozenset({
    "static", "inline", "__inline__", "__forceinline__", "constexpr",
    "__device__", "__global__", "__host__",
})
# Function-like words that are not the name of the function being declared.
_NOT_A_NAME = frozenset({
    "__launch_bounds__", "__attribute__", "__declspec", "alignas", "__align__",
    "decltype", "noexcept", "operator", "sizeof", "throw",
})


@dataclass
class Chunk:
    """One top-level declaration or definition."""

    start: int
    end: int
    kind: str                     # "function", "declaration", "type", "other"
    name: str | None = None       # the function or specialised type it defines or declares
    internal: bool = False        # static/inline/__device__/anonymous namespace: not linkable
    registrations: list[tuple[str, str, str]] = field(default_factory=list)  # (impl, device, fn)
    tokens: frozenset[str] = frozenset()

    @property
    def provides(self) -> str | None:
        """The linkable symbol this chunk defines, if any."""
        if self.kind in ("function", "type") and not self.internal:
            return self.name
        return None


@dataclass
class CleanSource:
    code: str                     # same length as the original; comments, literals, directives blanked
    macro_tokens: frozenset[str]  # identifiers used in active #define bodies


_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(text: str) -> str:
    return _NOT_NEWLINE.sub(" ", text)


_LEXEMES = re.compile(
    r"""//[^\n]*"""                              # line comment
    r"""|/\*.*?(?:\*/|\Z)"""                     # block comment
    r"""|(?<![\w])R"(?P<delim>[^(\s]*)\(.*?\)(?P=delim)\""""   # raw string
    r"""|"(?:[^"\\\n]|\\.)*"?"""                 # string literal
    r"""|(?<![\w])'(?:[^'\\\n]|\\.)*'?""",      # char literal (not a digit separator)
    re.S,
)


def _blank_lexeme(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("/"):
        return _blank(text)
    if text.startswith("R"):
        return 'R"' + _blank(text[2:-1]) + '"'
    quote = text[0]
    closed = len(text) > 1 and text.endswith(quote)
    return quote + _blank(text[1:-1] if closed else text[1:]) + (quote if closed else "")


def strip_comments_and_literals(text: str) -> str:
    """Blank comments and the contents of string/char literals, keeping offsets and newlines."""
    return _LEXEMES.sub(_blank_lexeme, text)


INCLUDE_LINE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"][^\n]*$', re.M)


def includes(text: str) -> list[tuple[str, str]]:
    """The ``#include`` lines of ``text`` outside comments: (``<`` or ``"``, the name), in order."""
    return [(m.group(1), m.group(2)) for m in INCLUDE_LINE.finditer(strip_comments(text))]


def quoted_includes(text: str) -> list[str]:
    """The names ``text`` includes as ``#include "..."``, in order."""
    return [name for kind, name in includes(text) if kind == '"']


def strip_comments(text: str) -> str:
    """Blank comments only (literals stay: error messages are read too), keeping offsets and newlines."""
    return _LEXEMES.sub(lambda m: _blank(m.group(0)) if m.group(0).startswith("/") else m.group(0), text)


def _condition_value(expr: str, defined: frozenset[str]) -> bool | None:
    """True/False for conditions on MMCV_WITH_* macros and literals only; None when undecidable."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if _DECIDED_MACRO.fullmatch(name):
            return " 1 " if name in defined else " 0 "
        return match.group(0)

    expr = _DEFINED.sub(replace, expr)
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    try:
        tree = ast.parse(expr.strip() or "x", mode="eval")
    except SyntaxError:
        return None
    return _truth(tree.body)


def _truth(node: ast.AST) -> bool | None:
    """Evaluate 0/1 literals under and/or/not; anything else is undecidable."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return bool(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        value = _truth(node.operand)
        return None if value is None else not value
    if isinstance(node, ast.BoolOp):
        values = [_truth(v) for v in node.values]
        if None in values:
            return None
        return all(values) if isinstance(node.op, ast.And) else any(values)
    return None


def _logical_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of lines, joining backslash continuations."""
    spans, start, i = [], 0, 0
    while True:
        j = text.find("\n", i)
        if j < 0:
            spans.append((start, len(text)))
            return spans
        if j > 0 and text[j - 1] == "\\":
            i = j + 1
            continue
        spans.append((start, j))
        start = i = j + 1


class _Branches:
    """The ``#if`` stack. Each frame: [parent active, this branch active, a decided branch was taken,
    decidable]."""

    def __init__(self, defined: frozenset[str]):
        self.defined = defined
        self.stack: list[list[bool]] = []

    def active(self) -> bool:
        return not self.stack or (self.stack[-1][0] and self.stack[-1][1])

    def directive(self, word: str, rest: str) -> None:
        if word in ("if", "ifdef", "ifndef"):
            self._open(word, rest)
        elif word == "elif" and self.stack:
            frame = self.stack[-1]
            value = _condition_value(rest, self.defined) if frame[3] else None
            if value is None:
                frame[3] = False
                frame[1] = True
            else:
                frame[1] = value and not frame[2]
                frame[2] = frame[2] or value
        elif word == "else" and self.stack:
            frame = self.stack[-1]
            frame[1] = (not frame[2]) if frame[3] else True
        elif word == "endif" and self.stack:
            self.stack.pop()

    def _open(self, word: str, rest: str) -> None:
        if word == "if":
            value = _condition_value(rest, self.defined)
        else:
            name = rest.strip()
            value = (name in self.defined) if _DECIDED_MACRO.fullmatch(name) else None
            if value is not None and word == "ifndef":
                value = not value
        self.stack.append([self.active(), value is not False, bool(value), value is not None])


def preprocess(text: str, defined: frozenset[str] = frozenset()) -> CleanSource:
    """Blank comments, literals, directives and the branches the macros in ``defined`` rule out."""
    code = strip_comments_and_literals(text)
    out = list(code)
    macro_tokens: set[str] = set()
    branches = _Branches(defined)
    for start, end in _logical_lines(code):
        line = code[start:end]
        match = _DIRECTIVE.match(line.strip())
        if match is None:
            if not branches.active():
                out[start:end] = _blank(line)
            continue
        word, rest = match.group(1), match.group(2).replace("\\\n", " ")
        if word == "define" and branches.active():
            macro_tokens.update(IDENTIFIER.findall(rest))
        else:
            branches.directive(word, rest)
        out[start:end] = _blank(line)
    return CleanSource("".join(out), frozenset(macro_tokens))


_BRACKETS = {"{": re.compile(r"[{}]"), "(": re.compile(r"[()]"), "[": re.compile(r"[\[\]]")}


def matching_close(code: str, open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at`` (or the last index of the text)."""
    opener = code[open_at]
    depth = 0
    for match in _BRACKETS[opener].finditer(code, open_at):
        depth += 1 if match.group(0) == opener else -1
        if depth == 0:
            return match.start()
    return len(code) - 1


def _declared_name(head: str) -> str | None:
    """The name before the parameter list of a function head, or None."""
    depth_angle = 0
    for match in re.finditer(r"[\w:~]+|[()<>]", head):
        token = match.group(0)
        if token == "<":
            depth_angle += 1
        elif token == ">":
            depth_angle = max(0, depth_angle - 1)
        elif token == "(":
            return None
        elif depth_angle == 0 and IDENTIFIER.match(token.split("::")[-1] or "_"):
            follows = head[match.end():].lstrip()
            name = token.split("::")[-1]
            if follows.startswith("(") and name not in _NOT_A_NAME and not name.startswith("__") \
                    and not re.fullmatch(r"[A-Z0-9_]+", name):
                return name
            if follows.startswith("("):  # an attribute or macro call: step over its arguments
                close = matching_close(head, match.end() + (len(head[match.end():]) - len(follows)))
                return _declared_name(head[close + 1:])
    return None


def _classify(code: str, start: int, end: int, body_at: int | None, anonymous: bool) -> Chunk:
    text = code[start:end]
    head = code[start:body_at] if body_at is not None else text
    tokens = frozenset(IDENTIFIER.findall(text))
    chunk = Chunk(start, end, "other", tokens=tokens)
    chunk.registrations = [m.groups() for m in _REGISTRATION.finditer(text)]
    if chunk.registrations:
        return chunk
    plain_head = re.sub(r"^\s*template\s*<[^{;]*?>\s*(?=[A-Za-z_])", "", head, count=1) \
        if _TEMPLATE_PREFIX.match(head) else head
    words = set(IDENTIFIER.findall(plain_head.split("(")[0]))
    type_head = _TYPE_HEAD.search(plain_head)
    if body_at is not None and type_head and "(" not in plain_head[:type_head.start()]:
        # Only specialisations of templates declared in headers can be used from other files.
        chunk.kind, chunk.name = "type", type_head.group(2)
        chunk.internal = anonymous or type_head.group(3) is None
        return chunk
    if "=" in re.sub(r"\([^()]*\)|<[^<>]*>", "", plain_head.split("(")[0]) or "typedef" in words \
            or "using" in words:
        return chunk
    name = _declared_name(plain_head)
    if name is None:
        return chunk
    chunk.name = name
    chunk.kind = "function" if body_at is not None else "declaration"
    chunk.internal = anonymous or bool(words & INTERNAL_SPECIFIERS)
    return chunk


def _statement_end(code: str, i: int, end: int) -> int:
    """The offset just past the next top-level ';' from ``i``."""
    while i < end:
        if code[i] in "({[":
            i = matching_close(code, i) + 1
            continue
        if code[i] == ";":
            return i + 1
        i += 1
    return end


def _braced(code: str, chunk_start: int, brace: int, end: int, anonymous: bool
            ) -> tuple[list[Chunk], int, bool]:
    """What a ``{`` at top level opens: (chunks, where to go on, whether the chunk ended)."""
    head = code[chunk_start:brace]
    close = matching_close(code, brace)
    namespace = re.fullmatch(r"\s*(?:inline\s+)?namespace\s*([\w:]*)\s*", head)
    if namespace or re.fullmatch(r'\s*extern\s+"\s*"\s*', head):
        inner_anonymous = anonymous or (namespace is not None and not namespace.group(1))
        return split_top_level(code, brace + 1, close, inner_anonymous), close + 1, True
    if "=" in re.sub(r"\([^()]*\)", "", head.split("(")[0]) and not re.search(r"\boperator\b", head):
        return [], close + 1, False        # a brace initialiser: the declaration ends at the next ';'
    if "(" not in head and re.search(r"\b(typedef|struct|class|union|enum)\b", head):
        chunk_end = _statement_end(code, close + 1, end)   # `struct S {...} s;`
    else:
        after = close + 1
        while after < end and code[after].isspace():
            after += 1
        chunk_end = after + 1 if after < end and code[after] == ";" else close + 1
    return [_classify(code, chunk_start, chunk_end, brace, anonymous)], chunk_end, True


def split_top_level(code: str, start: int = 0, end: int | None = None,
                    anonymous: bool = False) -> list[Chunk]:
    """Top-level chunks of preprocessed code; namespace blocks are opened and looked through."""
    end = len(code) if end is None else end
    chunks: list[Chunk] = []
    i = start
    chunk_start = None
    while i < end:
        ch = code[i]
        if chunk_start is None:
            if ch.isspace() or ch == ";":
                i += 1
                continue
            chunk_start = i
        if ch in "([":
            i = matching_close(code, i) + 1
            continue
        if ch == ";":
            chunks.append(_classify(code, chunk_start, i + 1, None, anonymous))
            chunk_start = None
        elif ch == "{":
            found, i, done = _braced(code, chunk_start, i, end, anonymous)
            chunks.extend(found)
            if done:
                chunk_start = None
            continue
        i += 1
    if chunk_start is not None and code[chunk_start:end].strip():
        chunks.append(_classify(code, chunk_start, end, None, anonymous))
    return chunks
