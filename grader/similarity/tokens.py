"""A Python file as normalised tokens: what stays when code is renamed or reformatted.

The source is only tokenized (`tokenize`) and parsed (`ast`); nothing in it runs.

- A name the file binds itself (a variable, parameter, function, class, an attribute it
  assigns, a method) becomes one token, `N`, so renaming changes nothing. A name it only uses
  (`torch`, `.reshape`, `len`, `dtype=`) stays as it is: it says what the code does and cannot
  be renamed without changing that. An import alias stands for what it imports (`np` is
  `numpy`).
- Numbers become `NUM`, strings `STR` (their kind, not their value).
- Comments, docstrings (a string alone as a statement), import statements, blank lines and
  indentation are dropped; a newline and `;` are one separator `;` (none after a `:`, so a
  one-line `if` reads like two lines), and a trailing comma before a closing bracket goes.

A file that does not parse keeps the tokens the tokenizer could read, with every name as `N`;
its note says so.
"""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
import warnings
from dataclasses import dataclass

NAME, NUMBER, STRING = "N", "NUM", "STR"
SEPARATOR = ";"
CLOSING = (")", "]", "}")
SKIPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
    # Python 3.12+: an f-string's text; its START counts as the string, its fields as code
    *(getattr(tokenize, t) for t in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, t)),
}
STRING_TYPES = {tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)}
MAX_LINE = 300  # characters of a line kept for display
MAX_LINES = 5000  # lines of a file kept for display
MAX_PARSED = 1 << 20  # bytes of a file parsed to find the names it binds (larger: all are N)


@dataclass(frozen=True)
class Token:
    """One normalised token and the lines of the source it came from."""

    text: str
    first: int  # 1-based line numbers
    last: int


@dataclass
class SourceFile:
    """One file of a submission: its normalised tokens and its lines for display."""

    path: str
    tokens: list[Token]
    lines: list[str]  # as shown (`_shown`), at most MAX_LINES
    note: str = ""  # why it was read only in part, or without knowing its names


@dataclass
class _Bindings:
    names: set[str]  # bound as plain names
    attrs: set[str]  # bound as attributes (assigned through `.`, or a class's members)
    aliases: dict[str, str]  # import alias -> what it imports


def _class_members(node: ast.ClassDef) -> set[str]:
    found = set()
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            found.update(t.id for t in targets if isinstance(t, ast.Name))
    return found


def _bindings(tree: ast.AST) -> _Bindings:
    """Every name and attribute the module binds, and its import aliases (ast.walk is
    iterative: no depth limit)."""
    b = _Bindings(set(), set(), {})
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            b.names.add(node.id)
        elif isinstance(node, ast.arg):
            b.names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            b.names.add(node.name)
            if isinstance(node, ast.ClassDef):
                b.attrs |= _class_members(node)
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            b.attrs.add(node.attr)
        elif isinstance(node, ast.alias) and node.asname:
            b.aliases[node.asname] = node.name
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            b.names.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            b.names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            b.names.add(node.rest)
    return b


def _parse(text: str) -> tuple[_Bindings | None, str]:
    if len(text) > MAX_PARSED:
        return None, f"larger than {MAX_PARSED >> 20} MiB"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning: invalid escape sequence
            return _bindings(ast.parse(text)), ""
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return None, f"does not parse ({where}{exc.msg})"
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, f"does not parse ({type(exc).__name__})"


def _raw(text: str, budget: int) -> tuple[list[tokenize.TokenInfo], str]:
    """The tokenizer's significant tokens, at most `budget` of them, and why it stopped early."""
    found: list[tokenize.TokenInfo] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type in SKIPPED or (
                    tok.type == tokenize.ERRORTOKEN and tok.string.isspace()
                ):
                    continue
                if len(found) >= budget:
                    return found, f"only its first {budget} tokens are compared"
                found.append(tok)
    except (tokenize.TokenError, SyntaxError) as exc:
        where = f"line {found[-1].end[0]}" if found else "its start"
        return found, f"tokenized up to {where} ({exc.args[0] if exc.args else exc})"
    return found, ""


def _statement_end(raw: list[tokenize.TokenInfo], i: int) -> int:
    """The index just past the statement that starts at `raw[i]` (its separator included)."""
    while i < len(raw) and not _separates(raw[i]):
        i += 1
    return i + 1


def _separates(tok: tokenize.TokenInfo) -> bool:
    return tok.type == tokenize.NEWLINE or (tok.type == tokenize.OP and tok.string == ";")


def _is_docstring(raw: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether the statement at `raw[i]` is nothing but (implicitly joined) plain strings."""
    j = i
    while j < len(raw) and raw[j].type == tokenize.STRING:
        j += 1
    return j > i and (j == len(raw) or _separates(raw[j]))


def _normalise(raw: list[tokenize.TokenInfo], bound: _Bindings | None) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        at_start = i == 0 or _separates(raw[i - 1])
        if at_start and (
            (tok.type == tokenize.NAME and tok.string in ("import", "from"))
            or _is_docstring(raw, i)
        ):
            i = _statement_end(raw, i)
            continue
        i += 1
        text = tok.string
        if _separates(tok):
            if out and out[-1].text not in (SEPARATOR, ":"):
                out.append(Token(SEPARATOR, tok.start[0], tok.start[0]))
            continue
        if tok.type == tokenize.OP and text == "," and i < len(raw) and raw[i].string in CLOSING:
            continue
        if tok.type == tokenize.NAME:
            text = _name(text, bound, attribute=bool(out) and out[-1].text == ".")
        elif tok.type == tokenize.NUMBER:
            text = NUMBER
        elif tok.type in STRING_TYPES:
            text = STRING
        out.append(Token(text, tok.start[0], tok.end[0]))
    return out


def _name(text: str, bound: _Bindings | None, *, attribute: bool) -> str:
    if attribute:
        return NAME if bound is None or text in bound.attrs else text
    if keyword.iskeyword(text):
        return text
    if bound is None:
        return NAME
    if text in bound.aliases:
        return bound.aliases[text]
    return NAME if text in bound.names else text


def _shown(line: str) -> str:
    """A line for display: at most MAX_LINE characters, control and invisible characters
    (a bidirectional override, say) escaped; tabs stay."""
    cut = line[:MAX_LINE]
    text = "".join(c if c.isprintable() or c == "\t" else ascii(c)[1:-1] for c in cut)
    return text + ("…" if len(line) > MAX_LINE else "")


def read_source(path: str, data: bytes, *, budget: int) -> SourceFile:
    """The normalised tokens of the file `path` holding `data`, at most `budget` of them.

    The bytes are read as UTF-8 (anything else becomes U+FFFD: it only ever sits in strings
    and comments, which are not compared); this never raises for a student's file.
    """
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    raw, stopped = _raw(text, budget)
    bound, unparsed = _parse(text)
    notes = [n for n in (stopped, unparsed and f"{unparsed}: every name counts as N") if n]
    shown = text.split("\n", MAX_LINES)[:MAX_LINES]  # lines as the tokenizer counts them
    if stopped:  # what was compared, no more
        shown = shown[: raw[-1].end[0] if raw else 0]
    return SourceFile(
        path=path,
        tokens=_normalise(raw, bound),
        lines=[_shown(line.removesuffix("\r")) for line in shown],
        note="; ".join(notes),
    )
