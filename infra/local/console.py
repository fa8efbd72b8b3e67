"""Readable terminal output for `make run` / `make up`, kept apart from the handlers' JSON logs.

The handlers log JSON lines and print EMF metrics on stdout, as in Lambda. Locally those go to
``.local/logs/stack.jsonl`` and the terminal shows only what a person wants to read.
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

_terminal: TextIO = sys.stdout


def divert_handler_output(log_file: Path) -> TextIO:
    """Send stdout (JSON logs, EMF metrics) to a file; keep the terminal for ``say``. Call before importing bridge."""
    global _terminal
    log_file.parent.mkdir(parents=True, exist_ok=True)
    _terminal = sys.stdout
    stream = log_file.open("a", buffering=1, encoding="utf-8")
    sys.stdout = stream
    return stream


def say(text: str = "", *, end: str = "\n") -> None:
    _terminal.write(text + end)
    _terminal.flush()


def heading(text: str) -> None:
    say()
    say(f"== {text}")


def table(rows: list[list[Any]], headers: list[str]) -> None:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        say("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            say("  " + "  ".join("-" * w for w in widths))


_progress_lock = threading.Lock()


def progress_line(text: str) -> None:
    """Rewrite one terminal line (a live progress display); plain lines when not a terminal.

    On a terminal the text is cut to its width: a wrapped line could not be rewritten in place."""
    with _progress_lock:
        if _terminal.isatty():
            width = shutil.get_terminal_size().columns - 1
            _terminal.write("\r\033[K" + (text if len(text) <= width else text[: width - 1] + "…"))
        else:
            _terminal.write(text + "\n")
        _terminal.flush()
