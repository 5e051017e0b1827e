"""Memory benchmark: peak resident memory of `newsmon run` over many files, at two input counts.

Usage: python bench/memory_bench.py [--files 10000 100000] [--batch 500]

For each count, plain-text stories made from the seeds (bench/throughput_bench.py's
make_texts) are written to a temporary folder and `newsmon run` ingests them into a new
SQLite store, on the default task runner. The CLI's process and its worker processes are
sampled every 0.2 s; printed: peak RSS of the flow's process, peak of the whole process
tree (flow, fork server, workers, Prefect's temporary server) as the sum of their RSS and as
the sum of their PSS (forked workers share pages with their fork server: RSS counts those
twice, PSS once), the largest single process of each role, the run time and the rate, and
the store's bytes per article, in all and without the story text (bench/store_size.py),
and how many events Prefect's server said it dropped (its queues were full).
Memory that does not grow with the input count is the goal: files are streamed in batches,
each freed once stored.
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
from store_size import store_size
from throughput_bench import make_texts

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def _role(process: psutil.Process) -> str:
    """What a process of the run is: Prefect's temporary server, the fork server, a worker
    (forked from the fork server, or spawned by Dask or Prefect's own pool), or other."""
    command = " ".join(process.cmdline())
    if "create_app" in command or "uvicorn" in command:
        return "server"
    if "forkserver" in command:
        parent = process.parent()
        forked = parent is not None and "forkserver" in " ".join(parent.cmdline())
        return "worker" if forked else "fork-server"
    return "worker" if "spawn_main" in command else "other"


def _pss(process: psutil.Process) -> int:
    """Proportional set size: pages shared with other processes (a forked worker's with its
    fork server) count once across them, so the tree's sum is what it takes of the RAM."""
    return int(getattr(process.memory_full_info(), "pss", process.memory_info().rss))


class PeakRss:
    """Peak resident memory of a process, of its process tree and of each child's role."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.every = every
        self.main = self.tree = self.tree_pss = 0
        self.roles: dict[str, int] = {}  # the largest one process of each role reached
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                main = self.process.memory_info().rss
                tree_pss = _pss(self.process)
                children = self.process.children(recursive=True)
            except psutil.Error:
                return
            tree = main
            for child in children:
                try:
                    rss = child.memory_info().rss
                    pss = _pss(child)
                    role = _role(child)
                except psutil.Error:
                    continue  # a worker that just exited
                tree += rss
                tree_pss += pss
                self.roles[role] = max(self.roles.get(role, 0), rss)
            self.main, self.tree = max(self.main, main), max(self.tree, tree)
            self.tree_pss = max(self.tree_pss, tree_pss)
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
        stored = store_size(Path(tmp) / "store.db")
        # Prefect's server queues events in memory, 10,000 a service, and drops what overflows.
        dropped = err.count("Subscription queue is full")
        print(
            f"{count:>7} files ({size / count / 1024:.1f} KB each): peak RSS flow process"
            f" {peaks.main / MIB:,.0f} MiB, whole tree {peaks.tree / MIB:,.0f} MiB RSS"
            f" ({peaks.tree_pss / MIB:,.0f} MiB PSS)"
            f" ({', '.join(f'{r} {v / MIB:,.0f}' for r, v in sorted(peaks.roles.items()))});"
            f" {seconds:.0f} s with start-up ({count / seconds:.0f} files/s);"
            f" store {stored.per_article:,.0f} B per article, {stored.without_text:,.0f} B"
            f" without the text, over {stored.articles:,} articles;"
            f" Prefect's server dropped {dropped:,} events",
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
