"""``manager.exec(name, command)``: a command's exit code and output lines, secrets masked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.frames import Schema
from infranb.core.secrets import Redactor
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "container": "string",
    "command": "string",
    "exit_code": "Int64",
    "line": "string",
}


def to_frame(
    name: str, command: str | Sequence[str], code: int, output: str, secrets: Sequence[str] = ()
) -> pd.DataFrame:
    from infranb.core.frames import text_frame

    redact = Redactor(secrets)
    shown = command if isinstance(command, str) else " ".join(command)
    lines = output.splitlines() or [""]
    rows = [
        {"container": name, "command": redact(shown), "exit_code": code, "line": redact(line)}
        for line in lines
    ]
    return text_frame(rows, SCHEMA)


async def query(ctx: EngineContext, name: str, command: str | Sequence[str]) -> pd.DataFrame:
    """Run a command in a running container: its exit code and output lines."""
    code, output = await ctx.call(ctx.engine.exec_in, name, command)
    details = await ctx.call(ctx.engine.inspect_container, name)
    return to_frame(name, command, code, output, ctx.secrets_of(details))
