"""Memory benchmark: peak resident memory of `newsmon run` over many files, at two input counts.

Usage: python bench/memory_bench.py [--files 10000 100000] [--batch 500]

For each count, plain-text stories made from the seeds (bench/throughput_bench.py's
make_texts) are written to a temporary folder and `newsmon run` ingests them into a new
SQLite store, on the default task runner. The CLI's process and its worker processes are
sampled every 0.2 s; printed: peak RSS of the flow's process, peak of the whole process
tree (flow, workers, Prefect's temporary server) and the largest single server and worker
process, the run time and the rate. Memory that does not grow with the input count is the
goal: files are streamed in batches, each freed once stored.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from throughput_bench import make_texts

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def _role(process: psutil.Process) -> str:
    """What a process of the run is: Prefect's temporary server, a worker, or other."""
    command = " ".join(process.cmdline())
    if "create_app" in command or "uvicorn" in command:
        return "server"
    return "worker" if "spawn_main" in command else "other"


class PeakRss:
    """Peak resident memory of a process, of its process tree and of each child's role."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.every = every
        self.main = self.tree = 0
        self.roles: dict[str, int] = {}  # the largest one process of each role reached
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                main = self.process.memory_info().rss
                children = self.process.children(recursive=True)
            except psutil.Error:
                return
            tree = main
            for child in children:
                try:
                    rss = child.memory_info().rss
                    role = _role(child)
                except psutil.Error:
                    continue  # a worker that just exited
                tree += rss
                self.roles[role] = max(self.roles.get(role, 0), rss)
            self.main, self.tree = max(self.main, main), max(self.tree, tree)
            self._done.wait(self.every)

    def stop(self) -> None:
        """Stop sampling."""
        self._done.set()
        self._thread.join()


def run_once(count: int, batch: int) -> None:
    """Write `count` stories, ingest them with `newsmon run`, print the peaks."""
    with tempfile.TemporaryDirectory(prefix="newsmon-memory-") as tmp:
        folder = Path(tmp) / "texts"
        folder.mkdir()
        size = make_texts(folder, count)
        env = {**os.environ, "NEWSMON_BATCH_SIZE": str(batch), "DO_NOT_TRACK": "1"}
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        cli = Path(sys.executable).parent / "newsmon"
        start = time.perf_counter()
        child = subprocess.Popen(
            [str(cli), "run", str(folder), "--db", str(Path(tmp) / "store.db")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        peaks = PeakRss(child.pid)
        _, err = child.communicate()
        peaks.stop()
        seconds = time.perf_counter() - start
        if child.returncode not in (0, 1):
            print(err[-2000:])
            raise SystemExit(f"newsmon run exited {child.returncode}")
        print(
            f"{count:>7} files ({size / count / 1024:.1f} KB each): peak RSS flow process"
            f" {peaks.main / MIB:,.0f} MiB, whole tree {peaks.tree / MIB:,.0f} MiB"
            f" ({', '.join(f'{r} {v / MIB:,.0f}' for r, v in sorted(peaks.roles.items()))});"
            f" {seconds:.0f} s with start-up ({count / seconds:.0f} files/s)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; batch {args.batch}; default task runner", flush=True)
    for count in args.files:
        run_once(count, args.batch)


if __name__ == "__main__":
    main()
