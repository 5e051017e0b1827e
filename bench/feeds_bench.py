"""Feed throughput: entries/s through parse → fetch → the pipeline, the network on loopback.

Usage: python bench/feeds_bench.py [--entries 400] [--hosts 4] [--parse-items 2000] [--distinct]
       [--startup-window 5]

Serves --hosts feeds, one per loopback address (127.0.0.1, 127.0.0.2, ...), so per-host
politeness (one request at a time) still lets hosts be fetched in parallel. The pages are the
seed stories with their paragraphs shuffled and a numbered line added (distinct stories, each
with many near-duplicates: the worst case for dedup), in the fixtures' outlet-like markup.
Prints feedparser's entries/s on one large feed, then runs the real `poll-feeds` flow once
(Prefect ephemeral mode) and prints its stages and the entries/s of the flow body.

Alerts go to a webhook on loopback. `--distinct` swaps a share of each page's body words, so
every page is a new Putin–Xi story (its headline, which names both, is kept) and fires the
shipped rule: the bench then prints, per alert, the time from the page's fetch to the
webhook's receipt of its alert (median, 95th percentile, worst).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from connectors.feeds import parse_feed

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = (ROOT / "tests" / "fixtures" / "feeds" / "article.html").read_text("utf-8")


def _pages(n: int, swap: float, seed: int = 7) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    seeds = [p.read_text("utf-8").splitlines() for p in sorted((ROOT / "seeds").glob("*.txt"))]
    vocabulary = sorted({w for lines in seeds for line in lines[1:] for w in line.split()})
    pages = []
    for i in range(n):
        lines = [line for line in rng.choice(seeds) if line.strip()]
        title, body = lines[0], lines[1:]
        rng.shuffle(body)
        if swap:
            body = [
                " ".join(w if rng.random() > swap else rng.choice(vocabulary) for w in line.split())
                for line in body
            ]
        body.insert(0, f"وفي التحديث رقم {i} أفاد مراسلنا بتطورات جديدة.")
        paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in body)
        page = TEMPLATE.replace("{{TITLE}}", html.escape(f"{title} ({i})")).replace(
            "{{BODY}}", paragraphs
        )
        page = page.replace("{{DATE}}", "2024-05-16T09:30:00+00:00").replace("{{CANONICAL}}", "")
        pages.append((title, page.encode("utf-8")))
    return pages


def _rss(base: str, items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{base}{path}</link>"
        "<pubDate>Thu, 16 May 2024 09:30:00 +0000</pubDate></item>"
        for title, path in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
        f"{entries}</channel></rss>"
    ).encode()


def _serve(address: str, routes: dict[str, bytes], seen: dict[str, float]) -> ThreadingHTTPServer:
    """Serve `routes`; `seen` gets each path's last fetch time, and each POST's body."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen[body.decode("utf-8")] = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            seen[f"{self.headers['Host']}{path}"] = time.time()
            body = routes.get(path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((address, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=400)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--parse-items", type=int, default=2000)
    parser.add_argument("--distinct", action="store_true")
    parser.add_argument("--startup-window", type=float, default=5.0)
    args = parser.parse_args()

    pages = _pages(args.entries, 0.4 if args.distinct else 0.0)
    big = _rss(
        "https://a.example",
        [(t, f"/p/{i}") for i, (t, _) in enumerate(pages)]
        * (max(1, args.parse_items // max(1, len(pages)))),
    )
    started = time.perf_counter()
    parsed = parse_feed("bench", "https://a.example/rss", big).items
    seconds = time.perf_counter() - started
    print(
        f"parse: {len(parsed)} entries ({len(big) / 1e6:.1f} MB) in {seconds:.2f} s"
        f" = {len(parsed) / seconds:,.0f} entries/s"
    )

    servers, feed_lines, allow = [], ["feeds:"], []
    fetched: dict[str, float] = {}
    received: dict[str, float] = {}
    hook = _serve("127.0.0.1", {}, received)
    for h in range(args.hosts):
        routes: dict[str, bytes] = {"/robots.txt": b"User-agent: *\nAllow: /\n"}
        mine = [(i, p) for i, p in enumerate(pages) if i % args.hosts == h]
        server = _serve(f"127.0.0.{h + 1}", routes, fetched)
        base = f"http://127.0.0.{h + 1}:{server.server_address[1]}"
        for i, (_, body) in mine:
            routes[f"/world/{i}/"] = body
        routes["/rss"] = _rss(base, [(pages[i][0], f"/world/{i}/") for i, _ in mine])
        servers.append(server)
        allow.append(f"127.0.0.{h + 1}:{server.server_address[1]}")
        feed_lines += [f"  - name: host{h}", f"    url: {base}/rss", "    interval: 5m"]

    with tempfile.TemporaryDirectory() as tmp:
        feeds = Path(tmp) / "feeds.yml"
        feeds.write_text("\n".join(feed_lines) + "\n")
        os.environ.update(
            {
                "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
        )
        from flows.poll import poll_feeds_flow
        from newsmon.compose import pipeline_config
        from newsmon.settings import Settings

        settings = Settings(
            db=str(Path(tmp) / "bench.db"),
            feeds=feeds,
            fetch_allow=tuple(allow),
            fetch_host_delay=0,
            fetch_concurrency=args.hosts,
            webhook_url=SecretStr(f"http://127.0.0.1:{hook.server_address[1]}/hook"),
            webhook_secret=SecretStr("bench-secret"),
        )
        started = time.perf_counter()
        summary = poll_feeds_flow(pipeline_config(settings))
        wall = time.perf_counter() - started
    for server in [*servers, hook]:
        server.shutdown()
    print(
        f"poll-feeds: {args.hosts} feeds, {summary.inputs_read} pages read,"
        f" {summary.stored} stored, {len(summary.rejected)} rejected"
    )
    for timing in summary.timings:
        rate = timing.items_in / timing.seconds if timing.seconds else 0.0
        print(
            f"  {timing.stage:<20} {timing.items_in:>6} in {timing.seconds:7.2f} s  {rate:9,.0f}/s"
        )
    print(
        f"flow body: {summary.seconds:.1f} s"
        f" = {summary.inputs_read / summary.seconds:,.1f} entries/s"
        f" (wall with Prefect start-up: {wall:.1f} s)"
    )
    # Stored URLs are canonical (https); the fetch log has host and path.
    alerted = [
        (at, str(story.get("url") or "").split("://", 1)[-1])
        for body, at in received.items()
        if (story := json.loads(body).get("story"))
    ]
    matched = sorted(
        (fetched[where], at - fetched[where]) for at, where in alerted if where in fetched
    )
    if matched:
        print(
            f"fetch to webhook: {len(matched)} of {len(alerted)} alerts matched to their"
            " page's fetch"
        )
        # The first pages wait for the worker processes to start; later ones only for the
        # batches ahead of them.
        first = matched[0][0] + args.startup_window
        for label, part in (
            ("all", [lag for _, lag in matched]),
            (
                f"fetched in the first {args.startup_window:g} s",
                [lag for at, lag in matched if at < first],
            ),
            ("fetched later", [lag for at, lag in matched if at >= first]),
        ):
            if part:
                print(f"  {label}: {_spread(part)}")


def _spread(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    middle, high = ordered[len(ordered) // 2], ordered[int(0.95 * (len(ordered) - 1))]
    return (
        f"{len(ordered)} alerts, median {middle:.1f} s, 95th percentile {high:.1f} s,"
        f" worst {ordered[-1]:.1f} s"
    )


if __name__ == "__main__":
    main()
