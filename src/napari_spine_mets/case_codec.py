"""Dataclass <-> JSON by type hints, exact for the types the case parts use.

One generic codec instead of hand-written ``to_json``/``from_json`` per class, so a new
field is saved and loaded without touching the store. Supported: None, bool, int, float,
str, Enum, datetime (ISO 8601), list[X], tuple[X, ...], tuple[X, Y, Z], dict[str|int, X],
X | None, Any (kept as JSON), and nested dataclasses. Decoding ignores unknown keys and
uses defaults for missing ones; a wrong type raises ValueError naming the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any, Union

__all__ = ["encode", "decode"]


def encode(value: Any) -> Any:
    """JSON-able form of a dataclass instance (or of any supported value)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(cls: Any, data: Any, where: str = "") -> Any:
    """Inverse of :func:`encode` for the type ``cls``; ``where`` names the field in errors."""
    where = where or getattr(cls, "__name__", str(cls))
    if cls is Any:
        return data
    origin = typing.get_origin(cls)
    if origin in (Union, types.UnionType):
        args = typing.get_args(cls)
        if data is None:
            if type(None) in args:
                return None
            raise ValueError(f"{where}: null is not allowed")
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return decode(arg, data, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is list:
        (item,) = typing.get_args(cls) or (Any,)
        _expect(data, list, where)
        return [decode(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is tuple:
        args = typing.get_args(cls)
        _expect(data, list, where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise ValueError(f"{where}: expected {len(args)} items, got {len(data)}")
        return tuple(decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))
    if origin is dict:
        key_type, value_type = typing.get_args(cls) or (str, Any)
        _expect(data, dict, where)
        out = {}
        for k, v in data.items():
            try:
                key = int(k) if key_type is int else k
            except ValueError:
                raise ValueError(f"{where}: key {k!r} is not an integer") from None
            out[key] = decode(value_type, v, f"{where}[{k!r}]")
        return out
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        _expect(data, dict, where)
        hints = _hints(cls)
        kwargs = {
            f.name: decode(hints[f.name], data[f.name], f"{where}.{f.name}")
            for f in dataclasses.fields(cls)
            if f.init and f.name in data
        }
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from exc
    if isinstance(cls, type) and issubclass(cls, Enum):
        try:
            return cls(data)
        except ValueError:
            raise ValueError(f"{where}: {data!r} is not one of {[m.value for m in cls]}") from None
    if cls is datetime:
        _expect(data, str, where)
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            raise ValueError(f"{where}: {data!r} is not an ISO 8601 time") from None
    if cls is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise ValueError(f"{where}: expected a number, got {type(data).__name__}")
        try:
            return float(data)
        except OverflowError:  # JSON allows integers far beyond any float
            raise ValueError(f"{where}: {str(data)[:20]}... is out of range for a number") from None
    if cls is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{where}: expected an integer, got {type(data).__name__}")
        return data
    if cls in (str, bool):
        _expect(data, cls, where)
        return data
    raise ValueError(f"{where}: unsupported type {cls!r}")


def _expect(data: Any, kind: type, where: str) -> None:
    if not isinstance(data, kind):
        raise ValueError(f"{where}: expected {kind.__name__}, got {type(data).__name__}")


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
