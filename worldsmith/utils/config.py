"""Plain nested dataclass configs: to/from dicts, YAML/JSON files and `--set a.b=value` overrides.

Presets are Python functions returning a config; a file or overrides then change fields.
Unknown keys are errors that name the key, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from typing import Any, TypeVar

import yaml

from .errors import WorldsmithError

C = TypeVar("C")


def to_dict(cfg: Any) -> dict:
    """A dataclass (nested) as a plain dict ready for JSON."""
    if not dataclasses.is_dataclass(cfg):
        raise TypeError(f"expected a dataclass, got {type(cfg).__name__}")
    return dataclasses.asdict(cfg)


def from_dict(cls: type[C], data: dict, where: str = "config") -> C:
    """Build dataclass `cls` from `data`, recursing into nested dataclass fields."""
    if not isinstance(data, dict):
        raise WorldsmithError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise WorldsmithError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(fields))})")
        kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) == 1:
            return _coerce(args[0], value, where)
        return value
    if (tp is tuple or origin is tuple) and isinstance(value, (list, tuple)):
        return tuple(value)
    if (tp is list or origin is list) and isinstance(value, (list, tuple)):
        return list(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads "2e-3" (no dot) as a string; accept any float literal
        try:
            return float(value)
        except ValueError:
            pass
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, float, str, bool) and value is not None and not isinstance(value, tp):
        raise WorldsmithError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def merge(cfg: C, data: dict, where: str = "config") -> C:
    """Return a copy of `cfg` with the (nested, partial) values in `data` applied."""
    base = to_dict(cfg)
    _deep_update(base, data, where, type(cfg))
    return from_dict(type(cfg), base, where)


def _deep_update(base: dict, upd: dict, where: str, cls: type) -> None:
    names = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for k, v in upd.items():
        if k not in names:
            raise WorldsmithError(f"{where}: unknown key {k!r} (known: {', '.join(sorted(names))})")
        tp = hints[k]
        if dataclasses.is_dataclass(tp) and isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v, f"{where}.{k}", tp)
        else:
            base[k] = v


def parse_overrides(items: list[str] | None) -> dict:
    """['a.b=3', 'c=[1,2]'] -> {'a': {'b': 3}, 'c': [1, 2]}; values parsed as YAML scalars."""
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise WorldsmithError(f"--set {item!r}: expected key.sub=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise WorldsmithError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() != "" else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise WorldsmithError(f"--set {item!r}: {p} is set both as a value and a section")
        node[parts[-1]] = value
    return out


def load_file(path: str | os.PathLike) -> dict:
    """Read a YAML or JSON config file into a dict, with a clear error naming the file."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise WorldsmithError(f"config file not found: {p}")
    try:
        with open(p, encoding="utf-8") as f:
            text = f.read()
        data = json.loads(text) if p.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise WorldsmithError(f"config file {p}: cannot parse ({str(e).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WorldsmithError(f"config file {p}: expected a mapping at top level")
    return data


def resolve(cfg: C, config_file: str | None = None, overrides: list[str] | None = None) -> C:
    """Preset -> file -> `--set` overrides, in that order."""
    if config_file:
        cfg = merge(cfg, load_file(config_file), where=os.path.basename(config_file))
    if overrides:
        cfg = merge(cfg, parse_overrides(overrides), where="--set")
    return cfg


def dump_json(cfg: Any) -> str:
    """The resolved config as pretty JSON (what --dry-run prints and checkpoints store)."""
    return json.dumps(to_dict(cfg), indent=2)
