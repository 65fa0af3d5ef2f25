"""SCPI message parsing for the simulated instruments (IEEE 488.2-1992 ch. 7, SCPI-99 vol. 1 ch. 6).

A model declares its command tree as the manual writes it, one header per line::

    "[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]"

- each mnemonic's long form is the whole word, its short form the upper-case letters;
- ``[...]`` marks an optional (default) node, ``#`` a numeric suffix (default 1);
- received headers match case-insensitively, in short or long form, with or without the leading
  colon and the optional nodes, with the suffix given or left out.

:class:`CommandTree` turns a received message into a :class:`Command`: the header as the tree
writes it, the suffix values, whether it is a query, and the parameters (comma separated, spaces
around them dropped, quoted strings and IEEE 488.2 blocks kept whole). Character-data parameters
are compared through :meth:`CommandTree.keyword`, which accepts a keyword's short or long form.
One message carries one command here (no ``;`` compound messages: no driver sends them).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_MNEMONIC = re.compile(r"([A-Za-z][A-Za-z0-9_]*?)(\d*)$")
_NODE = re.compile(r"(\[)?:?([A-Za-z_]+)(#)?(\])?")  # Tektronix: WFMOutpre:BYT_Nr
# SCPI-99 7.2.1 decimal numeric program data: mantissa, optional exponent
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:\s*[eE]\s*[-+]?\d+)?$")
BOOLEANS = {"ON": "1", "OFF": "0", "1": "1", "0": "0"}
_CACHE_LIMIT = 4096


class Command(NamedTuple):
    """One received program message, parsed against a command tree."""

    header: str                  # the tree's spelling (e.g. ":OUTPut[1][:STATe]"), "*IDN", ...
    suffixes: tuple[int, ...]    # numeric suffix of each '#' node in the header, in order
    query: bool
    params: tuple[str, ...]      # parameters as received, surrounding whitespace removed
    text: str                    # the message as received

    @property
    def key(self) -> tuple:
        """What identifies the command regardless of spelling: header, suffixes, query."""
        return self.header, self.suffixes, self.query


def _words(mnemonic: str) -> tuple[str, str]:
    """(LONG, SHORT) upper-case forms of a mnemonic written Long/SHORT-case (``CURRent``)."""
    short = "".join(c for c in mnemonic if c.isupper() or c.isdigit() or c == "_")
    return mnemonic.upper(), short or mnemonic.upper()


class CommandTree:
    """The command headers of one instrument model, matched as SCPI does."""

    def __init__(self, headers, keywords=()):
        self.headers = tuple(headers)
        self._trees = []
        for header in self.headers:
            nodes = []
            for opt, word, suffix, close in _NODE.findall(header):
                if bool(opt) != bool(close):
                    raise ValueError(f"unbalanced [ ] in {header!r}")
                nodes.append((*_words(word), bool(opt), bool(suffix)))
            if not nodes:
                raise ValueError(f"not a SCPI header: {header!r}")
            self._trees.append(nodes)
        self._keywords: dict[str, str] = {}
        for word in keywords:
            long, short = _words(word)
            self._keywords[long] = self._keywords[short] = long
        self._cache: dict[str, tuple[str, tuple[int, ...]] | None] = {}

    # -- headers -------------------------------------------------------------------------------
    def match_header(self, header: str) -> tuple[str, tuple[int, ...]] | None:
        """(tree header, suffixes) for a received compound header without '?', or None."""
        try:
            return self._cache[header]
        except KeyError:
            pass
        found = None
        parts = header[1:].split(":") if header.startswith(":") else header.split(":")
        received = []
        for part in parts:
            m = _MNEMONIC.match(part)
            if m is None:
                received = None
                break
            received.append((m.group(1).upper(), int(m.group(2)) if m.group(2) else None))
        if received:
            for spelling, nodes in zip(self.headers, self._trees, strict=True):
                suffixes = _match(nodes, received, 0, 0)
                if suffixes is not None:
                    found = spelling, tuple(suffixes)
                    break
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[header] = found
        return found

    def keyword(self, token: str) -> str:
        """Canonical form of a character-data parameter: the declared keyword's long form in
        upper case (numeric suffix kept) when the token is its short or long form, else the
        token in upper case."""
        upper = token.upper()
        m = _MNEMONIC.match(upper)
        if m is None:
            return upper
        word = self._keywords.get(m.group(1))
        return upper if word is None else word + m.group(2)

    def parse(self, text: str) -> Command | None:
        """The received message as a Command, or None when its header is not in the tree.

        Common commands (``*IDN?``) are matched literally, case-insensitively."""
        stripped = text.strip()
        head, _, rest = stripped.partition(" ")
        if "\t" in head:
            head, _, more = head.partition("\t")
            rest = more + " " + rest
        query = head.endswith("?")
        name = head[:-1] if query else head
        if name.startswith("*"):
            found = (name.upper(), ())
        else:
            found = self.match_header(name)
            if found is None:
                return None
        return Command(found[0], found[1], query, split_params(rest), text)


def _match(nodes, received, j, i):
    """Suffix list when received[i:] matches nodes[j:], else None (optional nodes may be
    skipped; backtracking over a handful of nodes)."""
    if j == len(nodes):
        return [] if i == len(received) else None
    long, short, optional, takes_suffix = nodes[j]
    if i < len(received):
        word, suffix = received[i]
        if (word == long or word == short) and (suffix is None or takes_suffix):
            rest = _match(nodes, received, j + 1, i + 1)
            if rest is not None:
                return ([suffix or 1] if takes_suffix else []) + rest
    if optional:
        rest = _match(nodes, received, j + 1, i)
        if rest is not None:
            return ([1] if takes_suffix else []) + rest
    return None


def split_params(text: str) -> tuple[str, ...]:
    """Comma-separated program data, each stripped; commas inside quotes or a definite-length
    block (``#<n><length><data>``) do not separate."""
    text = text.strip()
    if not text:
        return ()
    params, start, k, n = [], 0, 0, len(text)
    while k < n:
        c = text[k]
        if c in "\"'":
            end = text.find(c, k + 1)
            k = n if end < 0 else end + 1
            continue
        if c == "#" and k + 1 < n and text[k + 1] in "123456789":
            digits = int(text[k + 1])
            try:
                k += 2 + digits + int(text[k + 2:k + 2 + digits])
            except ValueError:
                k += 1
            continue
        if c == ",":
            params.append(text[start:k].strip())
            start = k + 1
        k += 1
    params.append(text[start:].strip())
    return tuple(params)


def unquote(param: str) -> str:
    """String program data without its quotes (either kind)."""
    if len(param) >= 2 and param[0] == param[-1] and param[0] in "\"'":
        return param[1:-1]
    return param


def number(param: str) -> float:
    """Decimal numeric program data as a float; ValueError for anything else (no inf, nan or
    underscores, which Python's float() would take)."""
    if not NUMBER.match(param):
        raise ValueError(f"not a SCPI number: {param!r}")
    return float(param.replace(" ", ""))


def boolean(param: str) -> bool:
    """ON|OFF|1|0 (case-insensitive); ValueError otherwise."""
    try:
        return BOOLEANS[param.upper()] == "1"
    except KeyError:
        raise ValueError(f"not a SCPI boolean: {param!r}") from None
