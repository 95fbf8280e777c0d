"""The condition language of invariants: a tokenizer and a recursive-descent parser, no eval.

    expr   := and ("or" and)*
    and    := not ("and" not)*
    not    := "not" not | test
    test   := sum [ ("=="|"!="|"<"|"<="|">"|">=") sum | "exists" | ["not"] "in" "(" lits ")" ]
    sum    := term (("+"|"-") term)*
    term   := unary (("*"|"/") unary)*
    unary  := "-" unary | atom
    atom   := NUMBER | STRING | true | false | path | FUNC "(" args ")" | "(" expr ")"
    path   := NAME ("." NAME | "[" INT "]")*
    FUNC   := sum(path, expr) | count(path) | coalesce(expr, ...) | abs(expr)

A path reads the entity's state after the event (`status`, `address.city`, `items[0].sku`);
`event.type` is the event's type and `event.payload.x` a field of its payload. Inside
`sum(items, qty * price)` paths are relative to each element of the list. A `ParseError` names
the line, the column and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eventlab.errors import EventLabError

COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = ("and", "or", "not", "exists", "in", "true", "false")
FUNCTIONS = ("sum", "count", "coalesce", "abs")
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|\.|,)
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


class ParseError(EventLabError):
    """A condition does not parse: where (line, column) and what was expected."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line, self.column, self.reason = line, column, message


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, end
    text: str
    value: Any
    line: int
    column: int


# --- the syntax tree -------------------------------------------------------------------------

@dataclass(frozen=True)
class Lit:
    """A number, string or boolean."""
    value: Any


@dataclass(frozen=True)
class Path:
    """A path: `root` is "state", "payload" (event.payload...), "type" (event.type) or "item"
    (an element inside sum()); steps are keys (str) and list indexes (int)."""
    root: str
    steps: tuple[str | int, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "not", "-", "exists"
    arg: Any


@dataclass(frozen=True)
class Binary:
    op: str  # and, or, comparisons, + - * /
    left: Any
    right: Any


@dataclass(frozen=True)
class In:
    arg: Any
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


Node = Lit | Path | Unary | Binary | In | Call


def tokenize(text: str, line0: int = 1) -> list[Token]:
    """The tokens of `text` (lines counted from `line0`), ending with an `end` token."""
    out: list[Token] = []
    pos, line, start = 0, line0, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r}", line, pos - start + 1)
        kind, piece = m.lastgroup or "", m.group()
        col = pos - start + 1
        if kind == "number":
            out.append(Token(kind, piece, float(piece) if any(c in piece for c in ".eE")
                             else int(piece), line, col))
        elif kind == "string":
            out.append(Token(kind, piece, _unquote(piece, line, col), line, col))
        elif kind != "space":
            out.append(Token(kind, piece, piece, line, col))
        for i, ch in enumerate(piece):
            if ch == "\n":
                line, start = line + 1, pos + i + 1
        pos = m.end()
    out.append(Token("end", "", None, line, pos - start + 1))
    return out


def _unquote(piece: str, line: int, col: int) -> str:
    body, out, i = piece[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise ParseError(f"unknown escape \\{nxt} in a string", line, col + i + 1)
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str, line0: int) -> None:
        self.tokens = tokenize(text, line0)
        self.i = 0
        self.item_depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, expected: str) -> ParseError:
        t = self.tok
        found = "the end of the condition" if t.kind == "end" else repr(t.text)
        return ParseError(f"expected {expected}, found {found}", t.line, t.column)

    def accept(self, text: str) -> bool:
        if self.tok.kind in ("op", "name") and self.tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str, what: str | None = None) -> None:
        if not self.accept(text):
            raise self.fail(what or repr(text))

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail("'and', 'or', an operator or the end of the condition")
        return node

    def expr(self) -> Node:
        node = self.conj()
        while self.accept("or"):
            node = Binary("or", node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.neg()
        while self.accept("and"):
            node = Binary("and", node, self.neg())
        return node

    def neg(self) -> Node:
        if self.accept("not"):
            return Unary("not", self.neg())
        return self.test()

    def test(self) -> Node:
        left = self.sum()
        t = self.tok
        if t.kind == "op" and t.text in COMPARISONS:
            self.i += 1
            return Binary(t.text, left, self.sum())
        if self.accept("exists"):
            return Unary("exists", left)
        negated = False
        if t.kind == "name" and t.text == "not" and self.tokens[self.i + 1].text == "in":
            self.i += 1
            negated = True
        if self.accept("in"):
            self.expect("(", "'(' after 'in'")
            values = [self.literal()]
            while self.accept(","):
                values.append(self.literal())
            self.expect(")", "',' or ')' in the list after 'in'")
            return In(left, tuple(values), negated)
        return left

    def literal(self) -> Any:
        t = self.tok
        if t.kind in ("number", "string"):
            self.i += 1
            return t.value
        if t.kind == "name" and t.text in ("true", "false"):
            self.i += 1
            return t.text == "true"
        if t.kind == "op" and t.text == "-" and self.tokens[self.i + 1].kind == "number":
            self.i += 2
            return -self.tokens[self.i - 1].value
        raise self.fail("a number, a string, true or false")

    def sum(self) -> Node:
        node = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            node = Binary(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = self.tok.text
            self.i += 1
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Unary("-", self.unary())
        return self.atom()

    def atom(self) -> Node:
        t = self.tok
        if t.kind in ("number", "string"):
            self.i += 1
            return Lit(t.value)
        if self.accept("("):
            node = self.expr()
            self.expect(")", "')'")
            return node
        if t.kind == "name":
            if t.text in ("true", "false"):
                self.i += 1
                return Lit(t.text == "true")
            if t.text in KEYWORDS:
                raise self.fail("a value (a path, a number, a string or a function)")
            if t.text in FUNCTIONS and self.tokens[self.i + 1].text == "(":
                return self.call()
            return self.path()
        raise self.fail("a value (a path, a number, a string or a function)")

    def call(self) -> Node:
        name = self.tok.text
        self.i += 2
        if name in ("sum", "count"):
            first = self.path()
            if not isinstance(first, Path) or first.root not in ("state", "item"):
                raise self.fail(f"a path of the state as the first argument of {name}()")
            args: list[Node] = [first]
            if name == "sum":
                self.expect(",", "',' and the expression to add up in sum(list, expression)")
                if self.item_depth:
                    raise self.fail("no sum() inside sum()")
                self.item_depth += 1
                args.append(self.expr())
                self.item_depth -= 1
        else:
            args = [self.expr()]
            while name == "coalesce" and self.accept(","):
                args.append(self.expr())
        self.expect(")", f"')' to close {name}(")
        return Call(name, tuple(args))

    def path(self) -> Node:
        t = self.tok
        if t.kind != "name" or t.text in KEYWORDS:
            raise self.fail("a path")
        self.i += 1
        steps: list[str | int] = [t.text]
        while True:
            if self.accept("."):
                if self.tok.kind != "name":
                    raise self.fail("a field name after '.'")
                steps.append(self.tok.text)
                self.i += 1
            elif self.accept("["):
                if self.tok.kind != "number" or not isinstance(self.tok.value, int):
                    raise self.fail("a list index (0, 1, ...) after '['")
                steps.append(self.tok.value)
                self.i += 1
                self.expect("]", "']'")
            else:
                break
        if self.item_depth:
            return Path("item", tuple(steps))
        if steps[0] == "event":
            if steps[1:] == ["type"]:
                return Path("type", ())
            if len(steps) >= 3 and steps[1] == "payload":
                return Path("payload", tuple(steps[2:]))
            raise ParseError("'event' is followed by '.type' or '.payload.<field>'",
                             t.line, t.column)
        return Path("state", tuple(steps))


def parse(text: str, line: int = 1) -> Node:
    """The syntax tree of a condition; `line` numbers its first line (for errors in a file)."""
    if not text.strip():
        raise ParseError("expected a condition, found nothing", line, 1)
    return _Parser(text, line).parse()


def walk(node: Node) -> list[Node]:
    """The node and every node below it, depth first."""
    out: list[Node] = [node]
    if isinstance(node, Unary | In):
        out += walk(node.arg)
    elif isinstance(node, Binary):
        out += walk(node.left) + walk(node.right)
    elif isinstance(node, Call):
        for a in node.args:
            out += walk(a)
    return out


def paths(node: Node) -> list[Path]:
    """Every state path the condition reads (not those inside sum()), once each, in order."""
    found: list[Path] = []
    for n in walk(node):
        if isinstance(n, Path) and n.root == "state" and n not in found:
            found.append(n)
    return found
