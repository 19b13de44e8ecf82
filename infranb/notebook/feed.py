"""``LiveFeed``: rows as they arrive (events, log lines), one object in both worlds.

In plain Python it is an iterator (``for row in manager.watch_events(seconds=10)``); shown in
a notebook it is a table that grows as rows arrive, with a Stop button, read on a thread of
its own so the kernel stays free. It is always bounded: it ends after ``seconds``, after
``count`` rows, or at ``stop()``, and then closes what it reads. It is given its sources and
how to make a row of each item: it never calls an engine itself.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd


class Source(Protocol):
    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


#: rows a notebook's live table shows (the newest; the feed keeps them all)
SHOWN_ROWS = 30
#: how often the live table is redrawn while rows arrive, in seconds
REDRAW = 0.3

_DONE = object()


class LiveFeed:
    """Rows from ``open_sources()`` made by ``to_row`` (None skips an item; a list gives
    several rows), until
    ``seconds`` pass, ``count`` rows came, or ``stop()``."""

    def __init__(
        self,
        title: str,
        open_sources: Callable[[], Sequence[Source]],
        to_row: Callable[[Any], dict[str, Any] | list[dict[str, Any]] | None],
        to_frame: Callable[[list[dict[str, Any]]], pd.DataFrame],
        *,
        seconds: float | None = 60.0,
        count: int | None = 1000,
    ) -> None:
        if seconds is None and count is None:
            raise ValueError("a live feed needs seconds= or count= (it must end)")
        self.title = title
        self.rows: list[dict[str, Any]] = []
        self._open, self._to_row, self._frame = open_sources, to_row, to_frame
        self._seconds, self._count = seconds, count
        self._stopped = threading.Event()
        self._sources: list[Source] = []
        self._started = False
        self.ended_because = ""

    # ------------------------------------------------------------------ plain Python

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._started:
            raise RuntimeError(f"{self.title} is read once; its rows are in .rows")
        self._started = True
        items: queue.Queue[object] = queue.Queue()
        self._sources = list(self._open())

        def pump(source: Source) -> None:
            try:
                for item in source:
                    items.put(item)
            finally:
                items.put(_DONE)

        for source in self._sources:
            threading.Thread(target=pump, args=(source,), daemon=True).start()
        deadline = None if self._seconds is None else time.monotonic() + self._seconds
        running = len(self._sources)
        try:
            while running and not self._stopped.is_set():
                wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if wait <= 0:
                    self.ended_because = f"{self._seconds:g} s passed"
                    return
                try:
                    item = items.get(timeout=wait)
                except queue.Empty:
                    continue
                if item is _DONE:
                    running -= 1
                    continue
                made = self._to_row(item)
                for row in made if isinstance(made, list) else [made] if made else []:
                    self.rows.append(row)
                    yield row
                    if self._count is not None and len(self.rows) >= self._count:
                        self.ended_because = f"{self._count} rows came"
                        return
            self.ended_because = self.ended_because or (
                "stopped" if self._stopped.is_set() else "the engine ended it"
            )
        finally:
            self._close()

    def stop(self) -> None:
        """End the feed now (from any thread); what it read stays in ``rows``."""
        if not self.ended_because:
            self.ended_because = "stopped"
        self._stopped.set()
        self._close()

    def _close(self) -> None:
        for source in self._sources:
            source.close()

    def to_frame(self) -> pd.DataFrame:
        """The rows read so far, as the view's frame."""
        return self._frame(list(self.rows))

    def __repr__(self) -> str:
        state = self.ended_because or ("running" if self._started else "not started")
        return f"<LiveFeed {self.title}: {len(self.rows)} rows, {state}>"

    # ------------------------------------------------------------------ notebook

    def _ipython_display_(self) -> None:
        """A live table with a Stop button; the feed is read on a thread of its own."""
        import ipywidgets as w
        from IPython.display import display

        from infranb.notebook.tables import css, table

        status = w.HTML(f"<b>{_esc(self.title)}</b>: waiting for the first row…")
        shown = w.HTML()
        stop = w.Button(description="Stop", icon="stop", button_style="warning")
        stop.on_click(lambda _button: self.stop())
        began = time.monotonic()

        def draw(final: bool = False) -> None:
            frame = self._frame(self.rows[-SHOWN_ROWS:])
            html = getattr(frame, "_repr_html_", None)  # the view's face: its first columns
            shown.value = (
                html()
                if callable(html)
                else f'<div class="inb-wrap"><style>{css()}</style>{table(frame)}</div>'
            )
            said = f"{len(self.rows)} rows in {time.monotonic() - began:.0f} s"
            if final:
                said += f"; ended: {self.ended_because}"
                stop.disabled = True
            elif len(self.rows) > SHOWN_ROWS:
                said += f" (the newest {SHOWN_ROWS} shown; .rows and .to_frame() have all)"
            status.value = f"<b>{_esc(self.title)}</b>: {_esc(said)}"

        def read() -> None:
            last = 0.0
            try:
                for _row in self:
                    if time.monotonic() - last >= REDRAW:
                        draw()
                        last = time.monotonic()
            except Exception as error:  # shown in the table's line, never a thread's traceback
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                self.ended_because = f"failed: {first}"
            finally:
                draw(final=True)

        display(w.VBox([w.HBox([status, stop]), shown]))
        threading.Thread(target=read, daemon=True, name=f"infranb {self.title}").start()


class Tagged:
    """A source whose items come as (tag, item): which container and stream a line is of."""

    def __init__(self, source: Source, tag: Any) -> None:
        self._source, self._tag = source, tag

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for item in self._source:
            yield self._tag, item

    def close(self) -> None:
        self._source.close()


def _esc(text: str) -> str:
    from html import escape

    return escape(text, quote=True)
