"""Compose's variable interpolation and ``.env`` files, as the compose-spec defines them.

``$VAR``, ``${VAR}``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset),
``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+replacement}``, ``${VAR+replacement}``; defaults
and replacements may hold further ``${...}``; ``$$`` is a literal ``$``. A ``$`` followed by
anything else is kept as written, as Compose does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from infranb.core.errors import ComposeError

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_WHOLE = re.compile(
    r"\$(?:(?P<plain>[_a-zA-Z][_a-zA-Z0-9]*)|\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)(?::?[-?][^}]*)?\})"
)
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class MissingVariable(ComposeError):
    """A ``${VAR:?message}`` whose variable is unset (or empty)."""


@dataclass
class Interpolator:
    """Expands strings against ``variables``; unset plain references become "" and are
    remembered in ``unset`` (Compose warns about them)."""

    variables: Mapping[str, str]
    unset: list[str] = field(default_factory=list)
    #: value -> the variable it came from, for the texts that were one variable (``${PW}``,
    #: ``${PW:?...}``) set where Compose runs: a secret from it is journaled by reference.
    #: A value two variables share is left out (which one a text named is not known).
    whole: dict[str, str] = field(default_factory=dict)
    _shared: set[str] = field(default_factory=set)

    def __call__(self, text: str, where: Callable[[], str] = lambda: "") -> str:
        result, _ = self._expand(text, 0, where, inside_braces=False)
        match = _WHOLE.fullmatch(text)
        if match is not None:
            name = match["plain"] or match["braced"]
            named = self.variables.get(name) == result and result not in self._shared
            if named and result and self.whole.setdefault(result, name) != name:
                del self.whole[result]
                self._shared.add(result)
        return result

    def _expand(
        self, text: str, pos: int, where: Callable[[], str], *, inside_braces: bool
    ) -> tuple[str, int]:
        out: list[str] = []
        while pos < len(text):
            char = text[pos]
            if inside_braces and char == "}":
                return "".join(out), pos
            if char != "$":
                out.append(char)
                pos += 1
                continue
            following = text[pos + 1 : pos + 2]
            if following == "$":
                out.append("$")
                pos += 2
            elif following == "{":
                value, pos = self._braced(text, pos + 2, where)
                out.append(value)
            else:
                match = _NAME.match(text, pos + 1)
                if match is None:
                    out.append("$")
                    pos += 1
                else:
                    out.append(self._lookup(match.group()))
                    pos = match.end()
        if inside_braces:
            raise ComposeError(f"{where()}invalid interpolation in {text!r}: a '}}' is missing")
        return "".join(out), pos

    def _braced(self, text: str, pos: int, where: Callable[[], str]) -> tuple[str, int]:
        match = _NAME.match(text, pos)
        if match is None:
            raise ComposeError(
                f"{where()}invalid interpolation in {text!r}: '${{' must be followed by a "
                "variable name (write $$ for a literal $)"
            )
        name, pos = match.group(), match.end()
        if text[pos : pos + 1] == "}":
            return self._lookup(name), pos + 1
        operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
        if operator is None:
            raise ComposeError(
                f"{where()}invalid interpolation in {text!r}: unexpected "
                f"{text[pos : pos + 1]!r} after ${{{name}"
            )
        # The argument is expanded only when it is used: an unused ${X:?...} must not fail.
        start = pos + len(operator)
        end = _closing_brace(text, start)
        if end is None:
            raise ComposeError(f"{where()}invalid interpolation in {text!r}: a '}}' is missing")
        argument = text[start:end]
        value = self.variables.get(name)
        empty_counts = operator.startswith(":")
        present = value is not None and (value != "" or not empty_counts)
        if operator.endswith("-"):
            result = value if present else self(argument, where)
        elif operator.endswith("+"):
            result = self(argument, where) if present else ""
        elif present:  # "?" operators
            result = value
        else:
            message = self(argument, where) or "is missing a value"
            raise MissingVariable(f"{where()}required variable {name} {message}".rstrip())
        return result or "", end + 1

    def _lookup(self, name: str) -> str:
        if name not in self.variables:
            if name not in self.unset:
                self.unset.append(name)
            return ""
        return self.variables[name]


def _closing_brace(text: str, pos: int) -> int | None:
    """The index of the ``}`` closing the expression whose argument starts at ``pos``."""
    depth = 0
    while pos < len(text):
        if text.startswith("$$", pos):
            pos += 2
            continue
        if text.startswith("${", pos):
            depth += 1
            pos += 2
            continue
        if text[pos] == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos += 1
    return None


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([^=\s#][^=\s]*)\s*(?:=(.*))?$")


def parse_env_file(text: str, source: str, variables: Mapping[str, str]) -> dict[str, str]:
    """``KEY=VALUE`` lines as Compose reads them: ``#`` comments, ``export``, single quotes
    (literal), double quotes (``\\n`` escapes, interpolated), unquoted values (interpolated, a
    `` #`` starts a comment). ``variables`` (and earlier lines) serve interpolation."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            raise ComposeError(f"{source}:{index}: expected KEY=VALUE")
        key, raw = match.group(1), match.group(2)
        if raw is None:  # a bare KEY: taken from the environment when set there
            if key in variables:
                values[key] = variables[key]
            continue
        raw = raw.strip()
        interpolate = Interpolator({**variables, **values})

        def where(line_number: int = index) -> str:
            return f"{source}:{line_number}: "

        if raw[:1] in ("'", '"'):
            quote = raw[0]
            body = raw[1:]
            # A quoted value may span lines until its closing quote.
            while not _closed(body, quote) and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            if not _closed(body, quote):
                raise ComposeError(f"{where()}the {quote} quote is never closed")
            value = body[: _closing_quote(body, quote)]
            if quote == '"':
                value = interpolate(_unescape(value), where)
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].rstrip()
            value = interpolate(value, where)
        values[key] = value
    return values


def _closing_quote(body: str, quote: str) -> int:
    pos = 0
    while pos < len(body):
        if body[pos] == "\\" and quote == '"':
            pos += 2
            continue
        if body[pos] == quote:
            return pos
        pos += 1
    return -1


def _closed(body: str, quote: str) -> bool:
    return _closing_quote(body, quote) >= 0


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value)


def env_file_values(path: str) -> dict[str, str]:
    """An env file's values as Compose reads it, interpolated against the environment (what
    a ``dotenv``/``env_file`` secret reference is read from again)."""
    import os
    from pathlib import Path

    return parse_env_file(Path(path).read_text(), path, dict(os.environ))
