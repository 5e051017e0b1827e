"""The progress line: drawn on a terminal, silent in a pipe or a log."""

from __future__ import annotations

import io
import re

from rich.console import Console

from newsmon.progress import RunProgress


def test_a_terminal_sees_files_done_and_time_left() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with RunProgress(total=40, console=console) as progress:
        progress.advance(10)
        progress._bar.refresh()
        shown = out.getvalue()
    assert "10/40" in shown
    assert re.search(r"\d+:\d\d:\d\d|-:--:--", shown), shown  # time left


def test_a_pipe_gets_nothing() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with RunProgress(total=40, console=console) as progress:
        progress.advance(40)
    assert out.getvalue() == ""
