"""Command lines: reading and dropping options (and the values they take) in a compiler's arguments."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence


def drop_options(args: list[str], with_value: Collection[str], alone: Collection[str] = (),
                 also: Callable[[str], bool] = lambda arg: False) -> list[str]:
    """``args`` less each option of ``with_value`` with the value after it (or joined by ``=``),
    each option of ``alone``, and every argument ``also`` picks."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in with_value:
            skip = True
        elif arg not in alone and arg.split("=", 1)[0] not in with_value and not also(arg):
            kept.append(arg)
    return kept


def option_value(args: Sequence[str], option: str) -> str | None:
    """The value after the last ``option`` in ``args``, or None."""
    found = None
    for index, arg in enumerate(args[:-1]):
        if arg == option:
            found = args[index + 1]
    return found
