"""Alert throughput: rules checked over new stories, and outbox deliveries to loopback peers.

Usage: python bench/alerts_bench.py [--stories 5000] [--deliveries 500]

Stories are the seeds' tagged articles under distinct ids, each its own story, stored in a
throwaway SQLite store (every one names Putin and Xi, so every one fires `putin-xi`: the
worst case). Deliveries go to a webhook (http.server) and an SMTP server (aiosmtpd) on
loopback, one message each, through the same code as a run (claim, send, mark).
"""

from __future__ import annotations

import argparse
import resource
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pydantic import SecretStr
from seed_stories import seed_copies

from enrich.arabic import search_terms
from enrich.dedup import DedupParams, fingerprinter_for
from newsmon.alerts.channels import open_channels
from newsmon.alerts.check import check_new_stories
from newsmon.alerts.delivery import deliver
from newsmon.alerts.rules import AlertRule, load_alert_rules
from newsmon.compose import alert_config
from newsmon.records import StoryLink
from newsmon.settings import Settings
from newsmon.stages import batched
from newsmon.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent


def fill(store: SQLiteStore, n: int) -> None:
    fingerprinter = fingerprinter_for(DedupParams())
    for batch in batched(seed_copies(n), 500):
        fps = [fingerprinter.fingerprint(a) for a in batch]
        store.add_articles(fps, "bench", lambda fp: StoryLink(fp.article.id))


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=5000)
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=_free_port())
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        base = alert_config(Settings(db=str(db), batch_size=500))
        store = SQLiteStore(db, analyzer=search_terms)
        fill(store, args.stories)

        rules = load_alert_rules()
        started = time.perf_counter()
        checked = check_new_stories(store, rules, base, "bench")
        seconds = time.perf_counter() - started
        print(
            f"check rules ({len(rules)} rules, no channel): {checked.checked} stories,"
            f" {len(checked.alerts)} alerts in {seconds:.2f} s"
            f" = {checked.checked / seconds:,.0f} stories/s"
        )
        store.close()

        for channel in ("webhook", "email"):
            sub = Path(tmp) / f"{channel}.db"
            hook_url = f"http://127.0.0.1:{hook.server_address[1]}/h"
            settings = Settings(
                db=str(sub),
                webhook_url=SecretStr(hook_url) if channel == "webhook" else None,
                webhook_secret=SecretStr("bench-secret"),
                smtp_host="127.0.0.1" if channel == "email" else None,
                smtp_port=smtp.port,
                smtp_security="none",
                alert_email_to=("analysts@example.org",),
            )
            store = SQLiteStore(sub, analyzer=search_terms)
            fill(store, args.deliveries)
            rule = AlertRule.model_validate(
                {"name": "putin-xi", "all_of": ["Q7747", "Q15031"], "channels": [channel]}
            )
            config = alert_config(settings)
            check_new_stories(store, [rule], config, "bench")
            channels = open_channels(config)
            started = time.perf_counter()
            report = deliver(store, channels, [rule], config.retry)
            seconds = time.perf_counter() - started
            for opened in channels.values():
                opened.close()
            store.close()
            print(
                f"deliver via {channel}: {report.sent} sent, {report.retrying} failed in"
                f" {seconds:.2f} s = {report.sent / seconds:,.0f} messages/s"
            )
    smtp.stop()
    hook.shutdown()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
