"""`newsmon run` killed with SIGKILL or stopped with SIGTERM mid-run, then run again:
nothing lost, nothing doubled, nothing left running."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_figures import FaultFigures
from peers import CliResult, newsmon_process

pytestmark = pytest.mark.integration


def _inputs(folder: Path, fixtures: Path, seeds: Path) -> int:
    """The dedup dev set's texts (stories with their edited copies) and the seeds, as files."""
    folder.mkdir()
    lines = (fixtures / "dedup" / "devset.ndjson").read_text("utf-8").splitlines()
    for n, line in enumerate(lines):
        record = json.loads(line)
        text = record["title"] + "\n\n" + record["text"]
        (folder / f"{n:03d}.txt").write_text(text, encoding="utf-8")
    for seed in sorted(seeds.glob("*.txt")):
        (folder / seed.name).write_bytes(seed.read_bytes())
    return len(lines) + 5


Outcome = tuple[set[tuple[str, ...]], set[tuple[str, ...]], int]


def _outcome(db: Path) -> Outcome:
    """Every article with its story and event, every alert, and what still waits to be checked."""
    with sqlite3.connect(db) as conn:
        articles = {
            tuple(str(v) for v in row)
            for row in conn.execute(
                "SELECT id, source, cluster_id, duplicate_of, event_id FROM articles"
            )
        }
        alerts = {tuple(row) for row in conn.execute("SELECT rule, story_key FROM alerts")}
        waiting = conn.execute("SELECT count(*) FROM alert_queue").fetchone()[0]
    return articles, alerts, int(waiting)


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet, or being migrated


def test_a_run_killed_mid_way_and_run_again_stores_and_alerts_exactly_once(
    fixtures: Path, seeds: Path, tmp_path: Path, fault_figures: FaultFigures
) -> None:
    inbox = tmp_path / "inbox"
    _inputs(inbox, fixtures, seeds)
    env = {"NEWSMON_BATCH_SIZE": "10"}
    clean_db = tmp_path / "clean.db"
    assert newsmon_process("run", str(inbox), db=clean_db, env=env).returncode == 0
    clean = _outcome(clean_db)
    total = len(clean[0])  # identical texts are one article
    assert total > 100 and clean[1] and clean[2] == 0

    # Killed at three points: in its first batch's store, half-way, and near the end.
    for name, point in (("first", 1), ("half", total // 2), ("late", total - 15)):
        killed_db = tmp_path / f"killed-{name}.db"
        run = subprocess.Popen(
            [sys.executable, "-m", "newsmon", "run", str(inbox)],
            env={**os.environ, "NEWSMON_DB": str(killed_db), **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the workers die with it
        )
        deadline = time.monotonic() + 120
        try:
            while _stored(killed_db) < point and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        at_kill = _stored(killed_db)
        assert 0 < at_kill < total, f"{name}: killed with {at_kill} of {total} stored"

        again = newsmon_process("run", str(inbox), db=killed_db, env=env)
        _record(fault_figures, f"newsmon run SIGKILLed ({name}), rerun", clean, killed_db, again)
        assert again.returncode == 0, again.stderr
        assert f", {total - at_kill} stored," in again.stdout  # the rest, none twice
        assert _outcome(killed_db) == clean, name  # the same stories, copies, events, alerts

    # SIGTERM (systemd, docker stop, a scheduler's timeout) on a run with Prefect's temporary
    # server: the run is recorded as failed, the process and every child exits, the rerun
    # finishes the work.
    termed_db = tmp_path / "termed.db"
    alone = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    alone.update(NEWSMON_DB=str(termed_db), PREFECT_HOME=str(tmp_path / "prefect-home"), **env)
    run = subprocess.Popen(
        [sys.executable, "-m", "newsmon", "run", str(inbox)],
        env=alone,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while _stored(termed_db) == 0 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "newsmon: stopped by SIGTERM" in stderr
    deadline = time.monotonic() + 15
    while _group_alive(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(run.pid), "a child (Prefect's temporary server) outlived the run"
    with sqlite3.connect(termed_db) as conn:
        [(status,)] = conn.execute("SELECT status FROM runs").fetchall()
    assert status == "failed"
    at_term = _stored(termed_db)
    assert 0 < at_term < total
    again = newsmon_process("run", str(inbox), db=termed_db, env=env)
    _record(fault_figures, "newsmon run SIGTERMed, rerun", clean, termed_db, again)
    assert again.returncode == 0, again.stderr
    assert _outcome(termed_db) == clean


def _record(figures: FaultFigures, case: str, clean: Outcome, db: Path, rerun: CliResult) -> None:
    """Articles (with their links) and alerts the rerun store lacks or has beyond the clean
    run's; a rerun that failed or printed a traceback is a crash."""
    articles, alerts, waiting = _outcome(db)
    figures.record(
        case,
        tried=len(clean[0]) + len(clean[1]),
        lost=len(clean[0] - articles) + len(clean[1] - alerts) + waiting,
        doubled=len(articles - clean[0]) + len(alerts - clean[1]),
        crashes=int(rerun.returncode != 0 or "Traceback" in rerun.stderr),
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
