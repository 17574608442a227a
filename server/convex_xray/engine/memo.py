"""Typed scratch space that lives as long as its owner: a rule context (one check) or a workspace."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MemoKey(Generic[T]):
    """A named slot, declared once by the module that owns it; `T` is the type stored there.
    Keys compare by identity, so two modules can never collide on a name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"MemoKey({self.name!r})"


class Memo:
    """Values under typed keys, optionally per `part` (a node id, a path...)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[tuple[MemoKey[Any], Hashable], Any] = {}

    def get(self, key: MemoKey[T], part: Hashable = None) -> T | None:
        return self._values.get((key, part))

    def put(self, key: MemoKey[T], value: T, part: Hashable = None) -> T:
        self._values[(key, part)] = value
        return value

    def pop(self, key: MemoKey[T], part: Hashable = None) -> T | None:
        return self._values.pop((key, part), None)

    def clear(self) -> None:
        self._values.clear()
