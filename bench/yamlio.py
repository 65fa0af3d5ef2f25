"""YAML reading shared by station and recipe files: bounded and strict.

What is read is bounded before it is parsed or used: the file's size, the nesting depth, the
size of the document once its aliases are expanded, the size of integers. Duplicate keys are
refused with their line; dates stay strings (a sample id ``2024-06-01`` is an id, not a date).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from common.errors import ConfigError

MAX_FILE_BYTES = 1 << 20  # 1 MiB: a station or recipe is a few kB
MAX_DEPTH = 32  # nesting of mappings and lists
MAX_NODES = 100_000  # scalars, lists and mappings, with every alias expanded
MAX_INTEGER = 10**18  # beyond any count or setting of a bench (and a float's exact range)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-3`` and ``20e-6`` as floats (YAML 1.1 needs a dot), keeps
    dates as strings, refuses duplicate keys and bounds depth and alias expansion."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"nested more than {MAX_DEPTH} levels deep at line "
                                  f"{mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        _check_expanded_size(node)
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ConfigError(f"a mapping key at line {key_node.start_mark.line + 1} "
                                      f"is not a plain value")
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConfigError(f"duplicate key {key!r} at line {line} (first at line "
                                      f"{seen[key]})")
                seen[key] = line
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        value = super().construct_yaml_int(node)
        if abs(value) > MAX_INTEGER:
            raise ConfigError(f"integer at line {node.start_mark.line + 1} is too large "
                              f"({len(str(abs(value)))} digits)")
        return value


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?\.(?:inf|Inf|INF)$"
               r"|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."))
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _check_expanded_size(root: yaml.Node) -> None:
    """Refuse a document larger than MAX_NODES once aliases are expanded (an alias bomb is a
    few lines that expand to billions of values), counted without expanding it."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"recursive alias at line {node.start_mark.line + 1}")
        active.add(key)
        if isinstance(node, yaml.ScalarNode):
            total = 1
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        else:
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise ConfigError(f"expands to more than {MAX_NODES} values (aliases at line "
                              f"{node.start_mark.line + 1}); a station or recipe is far smaller")
        return total

    size(root)


def parse_yaml(text: str) -> Any:
    """Parse YAML text; problems raise ConfigError (or yaml.YAMLError for bad syntax)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def read_text(path: str | Path, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes; else ConfigError."""
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{what} file {path} is not a regular file")
        if info.st_size > limit:
            raise ConfigError(f"{what} file {path} is {info.st_size} bytes; at most {limit} "
                              f"are read")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ConfigError(f"{what} file {path} is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} file {path} is not UTF-8 text (byte {exc.start}, "
                          f"line {line})") from None


def load_yaml(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a YAML mapping; any problem is a ConfigError naming the file and line."""
    path = Path(path)
    text = read_text(path, what)
    try:
        data = parse_yaml(text)
    except ConfigError as exc:
        raise ConfigError(f"{what} file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{what} file {path} is not valid YAML{where}: "
                          f"{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} file {path} must hold a YAML mapping")
    return data
