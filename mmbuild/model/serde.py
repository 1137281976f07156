"""Plain-data round trips: nested dataclasses <-> JSON-ready dicts."""

from __future__ import annotations

import builtins
import dataclasses
import sys
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")
# PEP 604 unions (``str | None``) are types.UnionType from Python 3.10; on 3.9 they exist only as
# annotation strings, which _type_hints turns into typing.Union.
_UNIONS = (typing.Union, getattr(types, "UnionType", typing.Union))


def to_dict(obj: Any) -> Any:
    """Turn dataclasses (nested, in lists and dicts) into JSON-ready data.

    A field whose metadata has ``json=False`` stays out (working state, not part of the document).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("json", True)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type[T], data: Any) -> T:
    """Build ``cls`` from data made by :func:`to_dict`; unknown keys are ignored."""
    return _convert(cls, data)


def _convert(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in _UNIONS:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], data) if len(args) == 1 else data
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(item, v) for v in data]
    if origin is dict:
        _, value = typing.get_args(tp) or (Any, Any)
        return {k: _convert(value, v) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise TypeError(f"expected an object for {tp.__name__}, got {type(data).__name__}")
        hints = _type_hints(tp)
        kwargs = {
            f.name: _convert(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    return data


def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints``, also on Python 3.9 for ``X | None`` annotation strings."""
    try:
        return typing.get_type_hints(cls)
    except TypeError:
        namespace = {**vars(builtins), **vars(sys.modules[cls.__module__])}
        return {f.name: _evaluate(f.type, namespace) if isinstance(f.type, str) else f.type
                for f in dataclasses.fields(cls)}


def _evaluate(text: str, namespace: dict[str, Any]) -> Any:
    """Evaluate an annotation string, turning each ``A | B`` into ``typing.Union[A, B]``."""
    parts = _split_top_level(text, "|")
    if len(parts) > 1:
        return typing.Union[tuple(_evaluate(p, namespace) for p in parts)]
    text = text.strip()
    if text.endswith("]") and "[" in text:
        head, inner = text[:-1].split("[", 1)
        args = tuple(_evaluate(a, namespace) for a in _split_top_level(inner, ","))
        return eval(head, namespace)[args if len(args) > 1 else args[0]]
    return eval(text, namespace)


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "["
        depth -= char == "]"
        if char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]
