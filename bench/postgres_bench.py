"""PostgreSQL store benchmark: one run on SQLite and on PostgreSQL, then four runs at once.

Usage: python bench/postgres_bench.py [--stories 2000] [--copies 0.5] [--store-url URL]

Inputs: `--stories` distinct plain-text stories made from the seeds (as throughput_bench
makes them) and, for a share of them, a syndicated copy (a wire credit added, one word
changed), shuffled so a story's copy is often read before it or by another process.
Printed, one run each: `newsmon run` over every file on SQLite and on PostgreSQL (wall time,
stories per second); four `newsmon run` processes started at once on a fresh PostgreSQL
database, each given an overlapping quarter-plus of the files; the same with the third one
SIGKILLed mid-run and its share run again. Each outcome is compared with the single run's:
articles and their sources, stories (which articles are copies of which), and alerts of a
per-story Putin–Xi rule — lost and doubled counts.

Without --store-url a PostgreSQL server is started from the machine's binaries in a
temporary folder (tests/pg_server.py), as the test suite does.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from pg_server import running_postgres  # noqa: E402
from throughput_bench import make_texts  # noqa: E402

from newsmon.compose import StoreConfig  # noqa: E402

RULES = "rules:\n  - name: putin-xi\n    all_of: [Q7747, Q15031]\n    per: story\n"
ENV = {"NEWSMON_BATCH_SIZE": "50", "NEWSMON_TASK_RUNNER": "threads:1", "DO_NOT_TRACK": "1"}


def make_inputs(folder: Path, stories: int, copy_share: float) -> list[Path]:
    """The stories and their syndicated copies, shuffled."""
    make_texts(folder, stories)
    rng = random.Random(16)
    paths = sorted(folder.glob("*.txt"))
    for path in list(paths):
        if rng.random() < copy_share:
            lines = path.read_text("utf-8").splitlines()
            words = lines[-1].split(" ")
            words[rng.randrange(len(words))] = "وأضاف"
            lines[-1] = " ".join(words)
            lines[1:1] = ["موسكو (رويترز) -"]
            copy = folder / f"copy-{path.stem}.txt"
            copy.write_text("\n".join(lines), "utf-8")
            paths.append(copy)
    rng.shuffle(paths)
    return paths


@dataclass(frozen=True)
class Outcome:
    """What a store holds: each article's sources, the stories, and the alerted stories."""

    sources: dict[str, frozenset[str]]
    stories: frozenset[frozenset[str]]
    alerts: Counter[frozenset[str]]

    def compare(self, reference: Outcome) -> str:
        """Lost and doubled, against the reference."""
        lost = len(reference.sources.keys() - self.sources.keys())
        lost_sources = sum(
            len(s - self.sources.get(i, frozenset())) for i, s in reference.sources.items()
        )
        doubled = sum(n - 1 for n in self.alerts.values() if n > 1)
        split = len(self.stories - reference.stories)
        missed = sum((reference.alerts - self.alerts).values())
        same = self == reference
        return (
            f"articles lost {lost}, sources lost {lost_sources}, stories differing {split},"
            f" alerts doubled {doubled}, alerts missing {missed}; same as one run: {same}"
        )


def outcome(url: str) -> Outcome:
    """Read a store's outcome through the store's own interface."""
    store = StoreConfig.from_url(url).open()
    try:
        articles = list(store.iter_articles())
        sources = store.sources_for([a.id for a in articles])
        by_story: dict[str, set[str]] = {}
        for a in articles:
            by_story.setdefault(a.cluster_id or a.id, set()).add(a.id)
        alerts = Counter(
            frozenset(by_story[record.cluster_id])
            for record in store.alerts(rule="putin-xi", limit=1_000_000)
        )
    finally:
        store.close()
    return Outcome(
        {i: frozenset(Path(s).name for s in found) for i, found in sources.items()},
        frozenset(frozenset(s) for s in by_story.values()),
        alerts,
    )


def start(paths: Sequence[Path], url: str, rules: Path) -> subprocess.Popen[bytes]:
    """`newsmon run` over the files, in its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "newsmon", "run", *map(str, paths)],
        env={**os.environ, **ENV, "NEWSMON_STORE_URL": url, "NEWSMON_ALERT_RULES": str(rules)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def finish(runs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Wait for the runs; stop on one that could not run."""
    for run in runs:
        if run.wait() not in (0, 1):
            raise SystemExit(f"newsmon run exited {run.returncode}")


def stored(url: str) -> int:
    """Articles stored so far (0 before the schema exists)."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM articles").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


def shares(paths: Sequence[Path], workers: int) -> list[list[Path]]:
    """Quarter-plus shares: each with a tenth of the files more, from the next share."""
    size, extra = -(-len(paths) // workers), len(paths) // 10
    return [list(paths[k * size : (k + 1) * size + extra]) for k in range(workers)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--copies", type=float, default=0.5, help="share of stories copied")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--store-url", help="a PostgreSQL server (default: start one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_postgres() as server:
        folder = Path(tmp) / "inbox"
        folder.mkdir()
        paths = make_inputs(folder, args.stories, args.copies)
        rules = Path(tmp) / "rules.yml"
        rules.write_text(RULES, "utf-8")
        base = args.store_url
        if base is None:
            if server is None:
                raise SystemExit("no PostgreSQL binaries here: pass --store-url")
            base = server.url
        counter = iter(range(1000))

        def fresh() -> str:
            if server is not None and args.store_url is None:
                return server.fresh_database()
            name = f"newsmon_bench_{os.getpid()}_{next(counter)}"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            return f"{base.rsplit('/', 1)[0]}/{name}"

        print(f"{len(paths)} files: {args.stories} stories, {len(paths) - args.stories} copies")
        results = {}
        for name, url in (("SQLite", f"sqlite:///{tmp}/one.db"), ("PostgreSQL", fresh())):
            began = time.perf_counter()
            finish([start(paths, url, rules)])
            seconds = time.perf_counter() - began
            results[name] = outcome(url)
            print(
                f"one run, {name}: {seconds:.1f} s wall, {len(paths) / seconds:.0f} files/s"
                f" (with about 9 s of Python and Prefect start-up)"
            )
        reference = results["PostgreSQL"]
        print(
            f"  {len(reference.sources)} articles, {len(reference.stories)} stories,"
            f" {sum(reference.alerts.values())} putin-xi alerts;"
            f" SQLite and PostgreSQL the same: {results['SQLite'] == reference}"
        )

        parts = shares(paths, args.workers)
        url = fresh()
        began = time.perf_counter()
        finish([start(part, url, rules) for part in parts])
        seconds = time.perf_counter() - began
        print(
            f"{args.workers} runs at once (shares of {len(parts[0])} files): {seconds:.1f} s wall;"
            f" {outcome(url).compare(reference)}"
        )

        url = fresh()
        runs = [start(part, url, rules) for part in parts]
        while stored(url) < len(reference.sources) // 4 and runs[2].poll() is None:
            time.sleep(0.05)
        at_kill = stored(url)
        os.killpg(runs[2].pid, signal.SIGKILL)
        runs[2].wait()
        finish([run for n, run in enumerate(runs) if n != 2])
        finish([start(parts[2], url, rules)])
        print(
            f"  with run 3 SIGKILLed at {at_kill} stored, then its share run again:"
            f" {outcome(url).compare(reference)}"
        )


if __name__ == "__main__":
    main()
