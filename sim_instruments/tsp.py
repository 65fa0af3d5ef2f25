"""A small interpreter of the Lua subset that Keithley TSP instruments take as remote commands.

A TSP instrument (Series 2600B, Reference Manual 2600BS-901-01, section 9 "TSP command
reference") executes each message it receives as a Lua chunk. The simulated 2600B takes the
subset its command reference uses for remote control, nothing more:

- attribute assignments, ``smua.source.leveli = 1e-3``, values being numbers, strings,
  ``true``/``false``/``nil``, tables of values ``{1e-3, 2e-3}`` and other attributes or
  constants (``smua.OUTPUT_DCAMPS``, ``trigger.timer[1].EVENT_ID``);
- function calls, ``smua.trigger.initiate()``, ``smua.measure.iv(smua.nvbuffer1, ...)``,
  including ``print(...)`` of values or of a call's results (Lua's ``print`` writes its
  arguments separated by tabs) and ``printbuffer(...)``;
- several statements in one message, separated by spaces or ``;``.

A chunk is compiled before it runs (Lua's ``loadstring``): a syntax error runs none of it and
queues -285 "TSP Syntax error"; a runtime error (an unknown attribute, a wrong argument) stops
the chunk where it happened and queues -286 "TSP Runtime error", as the manual's error summary
lists them. What the instrument does with each attribute and function is the model's business
(:class:`Namespace`); this module only reads the language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

_TOKEN = re.compile(r"""
    (?P<space>\s+|;)
  | (?P<comment>--[^\n]*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>[=(){},.\[\]-])
""", re.VERBOSE)
KEYWORDS = {"true": True, "false": False, "nil": None}


class TspError(Exception):
    """A chunk that could not run: ``kind`` "syntax" (-285) or "runtime" (-286)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


@dataclass(frozen=True)
class Path:
    """An attribute or function named by a dotted path, ``trigger.timer[1].delay``."""

    text: str


@dataclass(frozen=True)
class Call:
    function: Path
    args: tuple


@dataclass(frozen=True)
class Assign:
    target: Path
    value: Any


class Namespace(Protocol):
    """What an instrument model gives the interpreter: its attributes and functions."""

    def get(self, path: str) -> Any:
        """The value of an attribute or constant; TspError("runtime") if there is none."""
        ...

    def set(self, path: str, value: Any) -> None:
        """Assign an attribute; TspError("runtime") if it is unknown, read-only or refused."""
        ...

    def call(self, path: str, args: list[Any]) -> tuple:
        """Call a function; its results as a tuple (empty for none)."""
        ...


def _tokens(text: str) -> list[tuple[str, str]]:
    found, k = [], 0
    while k < len(text):
        m = _TOKEN.match(text, k)
        if m is None:
            raise TspError("syntax", f"unexpected symbol near '{text[k:k + 10]}'")
        kind = m.lastgroup
        if kind not in ("space", "comment"):
            found.append((kind, m.group()))
        k = m.end()
    return found


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.k = 0

    def peek(self, value: str | None = None, kind: str | None = None) -> bool:
        if self.k >= len(self.tokens):
            return False
        tkind, tvalue = self.tokens[self.k]
        return (value is None or tvalue == value) and (kind is None or tkind == kind)

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        if not self.peek(value, kind):
            near = self.tokens[self.k][1] if self.k < len(self.tokens) else "<eof>"
            raise TspError("syntax", f"'{value or kind}' expected near '{near}'")
        self.k += 1
        return self.tokens[self.k - 1][1]

    def chunk(self) -> list:
        statements = []
        while self.k < len(self.tokens):
            statements.append(self.statement())
        return statements

    def path(self) -> Path:
        parts = [self.take(kind="name")]
        while True:
            if self.peek("."):
                self.take(".")
                parts.append("." + self.take(kind="name"))
            elif self.peek("["):
                self.take("[")
                parts.append(f"[{int(float(self.take(kind='number')))}]")
                self.take("]")
            else:
                return Path("".join(parts))

    def statement(self):
        if not self.peek(kind="name") or self.tokens[self.k][1] in KEYWORDS:
            raise TspError("syntax", f"unexpected symbol near '{self.tokens[self.k][1]}'")
        target = self.path()
        if self.peek("("):
            return self.call(target)
        self.take("=")
        return Assign(target, self.expression())

    def call(self, function: Path) -> Call:
        self.take("(")
        args = []
        if not self.peek(")"):
            args.append(self.expression())
            while self.peek(","):
                self.take(",")
                args.append(self.expression())
        self.take(")")
        return Call(function, tuple(args))

    def expression(self):
        if self.peek("-"):
            self.take("-")
            return -float(self.take(kind="number"))
        if self.peek(kind="number"):
            return float(self.take())
        if self.peek(kind="string"):
            return self.take()[1:-1]
        if self.peek("{"):
            self.take("{")
            items = []
            if not self.peek("}"):
                items.append(self.expression())
                while self.peek(","):
                    self.take(",")
                    if self.peek("}"):  # Lua allows a trailing separator
                        break
                    items.append(self.expression())
            self.take("}")
            return tuple(items)
        if self.peek(kind="name") and self.tokens[self.k][1] in KEYWORDS:
            return KEYWORDS[self.take()]
        target = self.path()
        return self.call(target) if self.peek("(") else target


def compile_chunk(text: str) -> list:
    """The statements of one message; TspError("syntax") if it is not valid in the subset."""
    return _Parser(text).chunk()


def format_number(value: float, precision: int = 6) -> str:
    """A number as TSP's ``print`` writes it with ``format.asciiprecision`` significant digits:
    exponent notation, e.g. 0 -> ``0.00000e+00`` (the manual's errorqueue example)."""
    return f"{value:.{max(precision, 1) - 1}e}"


class Interpreter:
    """Runs messages against a :class:`Namespace`; ``print`` output goes to ``emit``."""

    def __init__(self, namespace: Namespace, emit, precision=lambda: 6):
        self.namespace, self.emit, self.precision = namespace, emit, precision

    def run(self, text: str) -> None:
        """Compile and run one message; TspError on the first problem (what ran stays done)."""
        for statement in compile_chunk(text):
            if isinstance(statement, Assign):
                self.namespace.set(statement.target.text, self.value(statement.value))
            else:
                self.invoke(statement)

    def value(self, expression) -> Any:
        if isinstance(expression, Path):
            return self.namespace.get(expression.text)
        if isinstance(expression, Call):
            results = self.invoke(expression)
            return results[0] if results else None
        if isinstance(expression, tuple):
            return tuple(self.value(item) for item in expression)
        return expression

    def invoke(self, call: Call) -> tuple:
        name = call.function.text
        if name == "print":
            values: list[Any] = []
            for k, arg in enumerate(call.args):  # a call as the last argument gives all results
                if isinstance(arg, Call) and k == len(call.args) - 1:
                    values.extend(self.invoke(arg))
                else:
                    values.append(self.value(arg))
            self.emit("\t".join(self.text(v) for v in values))
            return ()
        return tuple(self.namespace.call(name, [self.value(a) for a in call.args]))

    def text(self, value: Any) -> str:
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return format_number(float(value), self.precision())
        if isinstance(value, str):
            return value
        raise TspError("runtime", f"bad argument to 'print' ({type(value).__name__})")


class MessageTree:
    """Stands where a SCPI model's command tree stands in the backend (``command_tree``): an
    IEEE 488.2 common command (``*IDN?``, ``*CLS``, ``*RST``, ``*OPC?``, which the 2600B takes
    beside TSP) parses as the SCPI tree parses it; any other message is one TSP chunk, header
    :data:`CHUNK`, its text in ``Command.text``."""

    CHUNK = "TSP"

    def parse(self, text: str):
        from .scpi import Command, split_params

        stripped = text.strip()
        head, _, rest = stripped.partition(" ")
        if head.startswith("*"):
            query = head.endswith("?")
            return Command((head[:-1] if query else head).upper(), (), query,
                           split_params(rest), text)
        return Command(self.CHUNK, (), False, (), text)

    def keyword(self, token: str) -> str:
        return token.upper()
