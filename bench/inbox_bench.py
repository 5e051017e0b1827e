"""Drop-folder passes: what a `serve --inbox` pass costs once its files are stored.

Usage: python bench/inbox_bench.py [--files 2000]

Writes --files distinct plain-text stories (as throughput_bench makes them) into a folder
and runs the real `ingest-files` flow over it in this process (Prefect's ephemeral mode, or
PREFECT_API_URL), as the `ingest-inbox` deployment does:
- pass 1 with `remember` (every file read and stored);
- pass 2 with `remember`, nothing changed (each file a stat), twice: the first also waits
  for the Prefect server to take pass 1's events;
- pass 3 with `remember` after touching a tenth of the files (same bytes: hashed, skipped)
  and adding ten new ones;
- pass 4 without `remember`: the folder read whole, as every pass did before.
Each line: wall time of the flow call, the run's own seconds, files read and skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from throughput_bench import make_texts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.ingest import ingest_files
    from newsmon.compose import pipeline_config
    from newsmon.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        make_texts(inbox, args.files)
        config = pipeline_config(Settings(db=str(Path(tmp) / "store.db")))

        def one_pass(name: str, remember: bool) -> None:
            began = time.perf_counter()
            summary = ingest_files([str(inbox)], config, remember)
            wall = time.perf_counter() - began
            print(
                f"{name:<34} {wall:6.2f} s wall, run {summary.seconds:6.2f} s:"
                f" {summary.inputs_read} read, {summary.stored} stored,"
                f" {summary.already_known} known, {summary.unchanged} skipped"
            )

        print(f"{args.files} files in the drop folder")
        one_pass("pass 1, remember (all new)", True)
        one_pass("pass 2, remember (unchanged)", True)
        one_pass("pass 2 again (unchanged)", True)
        later = time.time_ns() + 60_000_000_000
        files = sorted(inbox.glob("*.txt"))
        for path in files[::10]:
            os.utime(path, ns=(later, later))
        make_texts(Path(tmp), 10)  # ten more, outside the inbox first
        for n, path in enumerate(sorted(Path(tmp).glob("story-*.txt"))):
            path.rename(inbox / f"late-{n:02d}.txt")
        one_pass(f"pass 3, remember ({len(files[::10])} touched, 10 new)", True)
        one_pass("pass 4, no memory (read whole)", False)


if __name__ == "__main__":
    main()
