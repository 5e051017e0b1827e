"""Several `newsmon run` processes at once on one PostgreSQL store: each story stored once,
each copy linked to its story, each alert made once; a worker killed mid-run loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
from pg_server import PostgresServer

pytestmark = pytest.mark.integration

WORKERS = 4
# Batches of ten: the four runs' transactions interleave many times.
ENV = {"NEWSMON_BATCH_SIZE": "10", "NEWSMON_TASK_RUNNER": "threads:1"}


def _inputs(folder: Path, fixtures: Path, seeds: Path) -> list[Path]:
    """The dedup dev set's real stories with their edited copies, and the seeds, shuffled so
    that a story's copies fall in different workers' shares."""
    folder.mkdir()
    lines = (fixtures / "dedup" / "devset.ndjson").read_text("utf-8").splitlines()
    paths = []
    for n, line in enumerate(lines):
        record = json.loads(line)
        path = folder / f"{n:03d}.txt"
        path.write_text(record["title"] + "\n\n" + record["text"], encoding="utf-8")
        paths.append(path)
    for seed in sorted(seeds.glob("*.txt")):
        (folder / seed.name).write_bytes(seed.read_bytes())
        paths.append(folder / seed.name)
    random.Random(16).shuffle(paths)
    return paths


def _shares(paths: Sequence[Path], overlap: int) -> list[list[str]]:
    """Four quarter-plus shares: each quarter with `overlap` files of the next one."""
    size = -(-len(paths) // WORKERS)
    return [[str(p) for p in paths[k * size : (k + 1) * size + overlap]] for k in range(WORKERS)]


def _rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n"
        "  - name: putin-xi\n    all_of: [Q7747, Q15031]\n    per: story\n"
        "  - name: russia-or-china\n    any_of: [Q159, Q148, Q7747, Q15031]\n    per: story\n",
        encoding="utf-8",
    )
    return path


def _start(paths: Sequence[str], url: str, rules: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsmon", "run", *paths],
        env={**os.environ, **ENV, "NEWSMON_STORE_URL": url, "NEWSMON_ALERT_RULES": str(rules)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, killed whole
    )


def _finish(runs: Sequence[subprocess.Popen[bytes]]) -> None:
    for run in runs:
        _, stderr = run.communicate(timeout=600)
        # 1: the dev set holds texts that are one article twice; refused inputs exit 1 too.
        assert run.returncode in (0, 1), stderr.decode(errors="replace")[-3000:]


Outcome = tuple[frozenset[tuple[str, frozenset[str]]], frozenset[frozenset[str]], list[str]]


def _outcome(url: str) -> Outcome:
    """Articles with every source, stories as sets of article ids, and the alerted stories'
    article sets (a list: an alert made twice would show twice)."""
    with psycopg.connect(url) as conn:
        sources: dict[str, set[str]] = {}
        for article_id, source in conn.execute("SELECT article_id, source FROM article_sources"):
            sources.setdefault(article_id, set()).add(Path(source).name)
        clusters: dict[str, set[str]] = {}
        for article_id, cluster in conn.execute("SELECT id, cluster_id FROM articles"):
            clusters.setdefault(cluster, set()).add(article_id)
        alerted = [
            rule + ":" + ",".join(sorted(clusters[key]))
            for rule, key in conn.execute("SELECT rule, story_key FROM alerts")
        ]
        waiting = conn.execute("SELECT count(*) FROM alert_queue").fetchone()[0]
    assert waiting == 0
    articles = frozenset((i, frozenset(s)) for i, s in sources.items())
    return articles, frozenset(frozenset(c) for c in clusters.values()), sorted(alerted)


def _stored(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except psycopg.Error:
        return 0  # not migrated yet


def _in_storing_order(url: str, paths: Sequence[Path]) -> list[str]:
    """The files in the order that store committed their stories (each article's first
    source), then the rest (files it found already stored, and files it refused)."""
    with psycopg.connect(url) as conn:
        order = [
            Path(s).name for (s,) in conn.execute("SELECT source FROM articles ORDER BY rowid")
        ]
    by_name = {p.name: str(p) for p in paths}
    first = [by_name[name] for name in order]
    return first + [str(p) for p in paths if str(p) not in set(first)]


def _same_as_one_run_in_its_order(
    url: str, paths: Sequence[Path], rules: Path, server: PostgresServer, expected: Outcome
) -> None:
    """What runs at once stored is what one run storing the files in the same order stores.

    Stories are grown online (each new article joins the story of the stored copies it is
    near), so the order of arrival may change a grouping; concurrency must change nothing
    else: one run over the same commit order gives the same stories and alerts.
    """
    got = _outcome(url)
    assert got[0] == expected[0]  # every article, with every source: none lost or doubled
    assert len(got[2]) == len(set(got[2]))  # no story alerted twice
    replay = server.fresh_database()
    _finish([_start(_in_storing_order(url, paths), replay, rules)])
    assert got == _outcome(replay)


def test_four_runs_at_once_store_link_and_alert_each_story_once(
    fixtures: Path, seeds: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    paths = _inputs(tmp_path / "inbox", fixtures, seeds)
    rules = _rules(tmp_path)
    shares = _shares(paths, overlap=len(paths) // 10)

    # The reference: one process, every file, in the same order.
    alone = postgres_server.fresh_database()
    _finish([_start([str(p) for p in paths], alone, rules)])
    expected = _outcome(alone)
    assert len(expected[2]) >= 15 and len(expected[1]) < len(expected[0])

    together = postgres_server.fresh_database()
    _finish([_start(share, together, rules) for share in shares])
    _same_as_one_run_in_its_order(together, paths, rules, postgres_server, expected)

    # Again, with the third run killed (and its thread) once the store holds some stories;
    # then its share is run again.
    killed = postgres_server.fresh_database()
    runs = [_start(share, killed, rules) for share in shares]
    deadline = time.monotonic() + 300
    while _stored(killed) < len(paths) // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs[2].poll() is None, "the third run ended before it could be killed"
    os.killpg(runs[2].pid, signal.SIGKILL)
    runs[2].wait()
    assert 0 < _stored(killed) < len(expected[0])
    _finish([run for n, run in enumerate(runs) if n != 2])
    _finish([_start(shares[2], killed, rules)])
    _same_as_one_run_in_its_order(killed, paths, rules, postgres_server, expected)
