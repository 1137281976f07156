"""Counting the calls into mmcv's compiled ops while a model runs: proof it went through them."""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def counted_ext_calls(ext: Any, ops: tuple[str, ...]) -> Iterator[Counter]:
    """Wrap every function of ``ext`` (``mmcv._ext``) named after one of ``ops`` (``roi_align``
    covers ``roi_align_forward`` and ``roi_align_backward``); the Counter holds calls by name."""
    counts: Counter = Counter()
    originals = {name: getattr(ext, name) for name in dir(ext)
                 if _is_op_function(name, ops) and callable(getattr(ext, name))}

    def wrap(name: str, function):
        @functools.wraps(function)
        def counted(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)
        return counted

    for name, function in originals.items():
        setattr(ext, name, wrap(name, function))
    try:
        yield counts
    finally:
        for name, function in originals.items():
            setattr(ext, name, function)


def _is_op_function(name: str, ops: tuple[str, ...]) -> bool:
    return any(name == op or name.startswith(f"{op}_") for op in ops)


def describe_calls(counts: Counter) -> str:
    return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items())) or "none"


def missing_ops(counts: Counter, ops: tuple[str, ...]) -> list[str]:
    """The ops of ``ops`` that no counted call reached."""
    return [op for op in ops if not any(_is_op_function(name, (op,)) for name in counts)]
