"""Feeds end to end: a real HTTP server on loopback serving Arabic RSS/Atom and article pages."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from peers import (
    ElasticsearchTarget,
    Site,
    free_port,
    http_site,
    newsmon,
    smtp_peer,
    wait_for_events,
    webhook_peer,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterStartTime,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL

from enrich.boilerplate import clean_text, load_rules
from flows.events import ALERT_SENT, FEED_FAILED, FEED_SILENT
from flows.poll import poll_feeds_flow
from newsmon.compose import open_store, pipeline_config
from newsmon.settings import Settings

pytestmark = pytest.mark.integration

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def _seed(seeds: Path, number: str) -> tuple[str, str]:
    (path,) = seeds.glob(f"{number}_*.txt")
    return clean_text(path.read_text("utf-8"), load_rules())


def _page(title: str, text: str, canonical: str, date: str = "2024-05-16T09:30:00+00:00") -> bytes:
    body = "\n".join(f"        <p>{line}</p>" for line in text.splitlines() if line.strip())
    html = (FEEDS / "article.html").read_text("utf-8")
    for key, value in (("TITLE", title), ("DATE", date), ("CANONICAL", canonical), ("BODY", body)):
        html = html.replace("{{" + key + "}}", value)
    return html.encode("utf-8")


def _fill(name: str, site: Site, titles: dict[str, str]) -> bytes:
    text = (FEEDS / name).read_text("utf-8").replace("{{BASE}}", site.url)
    text = text.replace("{{OTHER_LOCAL}}", f"http://127.0.0.1:{free_port()}")
    for number, title in titles.items():
        text = text.replace("{{TITLE_" + number + "}}", title)
    return text.encode("utf-8")


def _newsroom(site: Site, seeds: Path) -> dict[str, tuple[str, str]]:
    """Serve two feeds listing the seeds, their article pages, and a syndicated copy."""
    stories = {n: _seed(seeds, n) for n in ("000", "001", "002", "003", "004")}
    titles = {n: title for n, (title, _) in stories.items()}
    pages = {
        "/world/000-beijing-moscow/": "000",
        "/world/001-kremlin-statement/": "001",
        "/world/003-ushakov/": "003",
        "/ar/20240516-putin-xi": "002",
        "/ar/20240516-phone-call": "004",
    }
    for path, number in pages.items():
        title, text = stories[number]
        site.routes[path] = (
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            _page(title, text, site.url + path),
        )
    title, text = stories["002"]
    paragraphs = text.split("\n")[:3]
    paragraphs[0] = "بكين - رويترز: " + paragraphs[0]
    site.routes["/ar/20240516-putin-xi-reuters"] = (
        200,
        {"Content-Type": "text/html"},
        _page("نسخة: " + title, "\n".join(paragraphs), site.url + "/ar/20240516-putin-xi-reuters"),
    )
    site.routes["/section/world/"] = (
        200,
        {"Content-Type": "text/html"},
        (FEEDS / "section-page.html").read_bytes(),
    )
    site.routes["/robots.txt"] = (200, {}, b"User-agent: *\nDisallow: /private/\n")
    rss = _fill("rt-arabic.rss.xml", site, titles)

    def rss_route(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-none-match") == '"rss-v1"':
            return 304, {"ETag": '"rss-v1"'}, b""
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": '"rss-v1"'}, rss

    site.routes["/rss/"] = rss_route
    # No validators at all: the store's hash of the body tells an unchanged feed.
    site.routes["/ar/rss"] = (
        200,
        {"Content-Type": "application/atom+xml"},
        _fill("france24-arabic.atom.xml", site, titles),
    )
    return stories


def _feed_file(tmp_path: Path, site: Site, feeds: dict[str, str]) -> Path:
    path = tmp_path / "feeds.yml"
    lines = ["feeds:"]
    for name, route in feeds.items():
        lines += [f"  - name: {name}", f"    url: {site.url}{route}", "    interval: 5m"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _settings(tmp_path: Path, site: Site, feeds: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "db": tmp_path / "store.db",
        "feeds": feeds,
        "fetch_allow": (f"127.0.0.1:{site.port}",),
        "fetch_host_delay": 0.0,
        "fetch_timeout": 2.0,
        "fetch_retry_delay": 60.0,
    }
    return Settings(**{**values, **extra})


def test_one_poll_stores_dedups_and_alerts_then_a_second_finds_nothing(
    tmp_path: Path, seeds: Path
) -> None:
    with http_site() as site:
        stories = _newsroom(site, seeds)
        feeds = _feed_file(tmp_path, site, {"rt-arabic": "/rss/", "france24-arabic": "/ar/rss"})
        settings = _settings(tmp_path, site, feeds)
        summary = poll_feeds_flow(pipeline_config(settings))

        assert summary.feeds == {"fetched": 2}
        # Five seed stories and the syndicated copy; the second URL of 000 is the same page.
        assert summary.stored == 6
        reasons = sorted(r.reason for r in summary.rejected)
        assert len(reasons) == 3
        assert reasons[0].startswith("no article text found in the HTML page (only ")
        assert reasons[1].startswith("refused: 127.0.0.1 is 127.0.0.1, not a public address")
        assert reasons[2].startswith("refused: 169.254.169.254 is 169.254.169.254, not a public")
        assert sum(1 for path, _ in site.requests if path.startswith("/world/000")) == 1

        store = open_store(settings)
        try:
            articles = list(store.iter_articles())
            states = store.feed_states()
        finally:
            store.close()
        by_path = {a.url.split(f":{site.port}/", 1)[-1].rstrip("/"): a for a in articles}
        copy, original = by_path["ar/20240516-putin-xi-reuters"], by_path["ar/20240516-putin-xi"]
        assert {copy.cluster_id, original.cluster_id} == {original.cluster_id}
        assert len({a.cluster_id for a in articles}) == 5
        seed_000 = by_path["world/000-beijing-moscow"]
        assert seed_000.title == _seed(seeds, "000")[0]  # the page's headline, not the site's
        assert seed_000.published_at == datetime(2024, 5, 16, 9, 30, tzinfo=UTC)
        assert seed_000.author == "ليلى حسن"
        assert "اقرأ أيضا" not in seed_000.text and "التعليقات" not in seed_000.text
        assert "موسكو تستضيف منتدى" not in seed_000.text  # related links left out
        putin_xi = [a for a in summary.alerts if a.rule == "putin-xi"]
        assert len(putin_xi) == 5  # one per story, not for the copy
        assert states["rt-arabic"].etag == '"rss-v1"' and states["rt-arabic"].stored == 3

        requests_before = len(site.requests)
        again = poll_feeds_flow(pipeline_config(settings), force=True)
        assert again.feeds == {"not-modified": 1, "unchanged": 1}
        assert (again.stored, again.alerts, again.rejected) == (0, [], [])
        assert sorted(p for p, _ in site.requests[requests_before:]) == ["/ar/rss", "/rss/"]
        rss_headers = next(h for p, h in site.requests[requests_before:] if p == "/rss/")
        assert rss_headers["if-none-match"] == '"rss-v1"'

        # The feed changes (new ETag, a new item): the next poll reads it and stores the item.
        title, text = _seed(seeds, "001")
        site.routes["/world/777-new/"] = (
            200,
            {"Content-Type": "text/html"},
            _page("خبر جديد: " + title, text, site.url + "/world/777-new/"),
        )
        rss = _fill("rt-arabic.rss.xml", site, {n: story[0] for n, story in stories.items()})
        item = f"<item><title>جديد</title><link>{site.url}/world/777-new/</link></item>"
        changed = rss.replace(b"</channel>", item.encode() + b"</channel>")

        def rss_v2(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            if headers.get("if-none-match") == '"rss-v2"':
                return 304, {"ETag": '"rss-v2"'}, b""
            return 200, {"ETag": '"rss-v2"'}, changed

        site.routes["/rss/"] = rss_v2
        third = poll_feeds_flow(pipeline_config(settings), names=["rt-arabic"])
        assert third.feeds == {"fetched": 1}
        # A republished copy of 001 under a new URL: stored, linked to 001's story, no alert.
        assert (third.stored, third.alerts) == (1, [])

        listed = newsmon("feeds", "--json", db=settings.db, env={"NEWSMON_FEEDS": str(feeds)})
        records = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
        assert records["rt-arabic"]["status"] == "fetched"
        assert records["rt-arabic"]["stored"] == 4 and records["rt-arabic"]["polls"] == 3
        assert records["france24-arabic"]["stored"] == 3
        assert not records["rt-arabic"]["silent"]


def test_feed_faults_are_recorded_and_retried_later(tmp_path: Path, seeds: Path) -> None:
    with http_site() as site:
        stories = _newsroom(site, seeds)
        title, _text = stories["001"]
        cp1256_feed = (
            "<rss version='2.0'><channel><title>أخبار</title><item>"
            f"<title>{title}</title><link>{site.url}/world/001-kremlin-statement/</link>"
            "</item></channel></rss>"
        ).encode("cp1256")
        truncated = _fill("rt-arabic.rss.xml", site, {n: s[0] for n, s in stories.items()})
        truncated = truncated[: truncated.index(b"</item>", 2000) + 300]
        site.routes["/busy"] = (429, {"Retry-After": "3600"}, b"")
        site.routes["/broken"] = (500, {}, b"")
        site.routes["/cp1256"] = (200, {"Content-Type": "application/xml"}, cp1256_feed)
        site.routes["/truncated"] = (200, {"Content-Type": "application/xml"}, truncated)
        site.routes["/garbage"] = (200, {"Content-Type": "text/html"}, b"<html><body>hi")
        site.routes["/bomb"] = (200, {"Content-Encoding": "gzip"}, gzip.compress(b"<" * 20_000_000))
        site.routes["/moved"] = (301, {"Location": "/moved-again"}, b"")
        site.routes["/moved-again"] = (302, {"Location": "/cp1256"}, b"")

        def slow(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            time.sleep(3)
            return 200, {}, b""

        site.routes["/slow"] = slow
        # A page that fails once (503), then answers: it waits as pending and is fetched later.
        lines = (FEEDS.parent / "alerts" / "putin-only.txt").read_text("utf-8").split("\n", 2)
        flaky_title, flaky_text = lines[0], lines[2]
        answers = [(503, {"Retry-After": "1"}, b"busy")]
        flaky_page = _page(flaky_title, flaky_text, site.url + "/flaky-page")
        site.routes["/flaky-page"] = lambda headers: (
            answers.pop() if answers else (200, {}, flaky_page)
        )
        site.routes["/flaky"] = (
            200,
            {"Content-Type": "application/rss+xml"},
            f"<rss version='2.0'><channel><title>x</title><item><title>t</title>"
            f"<link>{site.url}/flaky-page</link></item></channel></rss>".encode(),
        )
        names = ["busy", "broken", "cp1256", "truncated", "garbage", "bomb", "moved", "slow"]
        feeds = _feed_file(tmp_path, site, {n: f"/{n}" for n in [*names, "flaky"]})
        settings = _settings(tmp_path, site, feeds, fetch_max_bytes=5_000_000)
        before = datetime.now(UTC)
        summary = poll_feeds_flow(pipeline_config(settings))

        store = open_store(settings)
        try:
            states = store.feed_states()
            articles = list(store.iter_articles())
        finally:
            store.close()
        status = {name: states[name].last_status for name in names}
        assert status == {
            "busy": "failed",
            "broken": "failed",
            "cp1256": "fetched",
            "truncated": "fetched",  # malformed but still yields entries
            "garbage": "refused",
            "bomb": "refused",
            "moved": "fetched",  # followed to the same feed: its entry is already listed
            "slow": "failed",
        }
        assert (states["busy"].next_poll_at - before).total_seconds() >= 3600  # Retry-After
        assert "HTTP 500" in (states["broken"].last_error or "")
        assert "timed out" in (states["slow"].last_error or "")
        assert "after decompression" in (states["bomb"].last_error or "")
        assert "not a readable feed" in (states["garbage"].last_error or "") or "not an RSS" in (
            states["garbage"].last_error or ""
        )
        assert states["truncated"].entries_seen >= 1
        # The Windows-1256 feed had no declaration: its headline was read right.
        assert any(a.title == title for a in articles)
        assert {r.stage for r in summary.rejected} >= {"feed"}
        assert states["flaky"].pending == 1 and not any(a.title == flaky_title for a in articles)

        time.sleep(1.1)  # the page's Retry-After
        later = poll_feeds_flow(pipeline_config(settings), names=["flaky"])
        assert later.feeds == {"unchanged": 1} and later.stored == 1
        store = open_store(settings)
        try:
            assert store.feed_states()["flaky"].pending == 0
            assert any(a.title == flaky_title for a in store.iter_articles())
        finally:
            store.close()


def test_serve_runs_poll_feeds_as_a_deployment(tmp_path: Path, seeds: Path) -> None:
    with http_site() as site:
        _newsroom(site, seeds)
        feeds = _feed_file(tmp_path, site, {"france24-arabic": "/ar/rss"})
        env = {
            **os.environ,
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "NEWSMON_DB": str(tmp_path / "served.db"),
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_FETCH_ALLOW": f"127.0.0.1:{site.port}",
            "NEWSMON_FETCH_HOST_DELAY": "0",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "newsmon", "serve", "--every", "3600"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            run = None
            deadline = time.monotonic() + 60
            while run is None and time.monotonic() < deadline:
                try:
                    run = run_deployment("poll-feeds/poll-feeds", timeout=90)
                except Exception:  # not registered yet
                    time.sleep(1)
            assert run is not None and run.state is not None
            assert run.state.is_completed(), run.state
        finally:
            server.send_signal(signal.SIGTERM)  # as systemd or `docker stop` would
            output = server.communicate(timeout=30)[0]
        assert server.returncode == 0, output[-3000:]
        assert "serve: stopped" in output and "Traceback" not in output, output[-3000:]
        store = open_store(Settings(db=tmp_path / "served.db"))
        try:
            assert store.count_articles() == 3, output[-2000:]
        finally:
            store.close()


def test_serve_refuses_to_start_without_a_server_or_with_no_inbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # no profile naming a server
    env["NEWSMON_DB"] = str(tmp_path / "store.db")

    def serve(api_url: str | None) -> subprocess.CompletedProcess[str]:
        variables = env if api_url is None else {**env, "PREFECT_API_URL": api_url}
        command = [sys.executable, "-m", "newsmon", "serve"]
        return subprocess.run(command, env=variables, capture_output=True, text=True, timeout=120)

    unset = serve(None)
    assert unset.returncode == 2, unset.stderr
    assert "serve needs a Prefect server: set PREFECT_API_URL" in unset.stderr
    dead = f"http://127.0.0.1:{free_port()}/api"
    down = serve(dead)
    assert down.returncode == 2, down.stderr
    assert f"no Prefect server answers at {dead}" in down.stderr
    for result in (unset, down):
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 3
    missing = newsmon("serve", "--inbox", str(tmp_path / "no-such-inbox"), db=env["NEWSMON_DB"])
    assert missing.returncode == 2 and "no-such-inbox" in missing.stderr
    assert "does not exist" in missing.stderr


def test_poll_and_feeds_commands(tmp_path: Path, seeds: Path, store_location: str) -> None:
    with http_site() as site:
        _newsroom(site, seeds)
        feeds = _feed_file(tmp_path, site, {"rt-arabic": "/rss/", "france24-arabic": "/ar/rss"})
        env = {
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_FETCH_ALLOW": f"127.0.0.1:{site.port}",
            "NEWSMON_FETCH_HOST_DELAY": "0",
        }
        db = store_location
        never = newsmon("feeds", db=db, env=env)
        assert never.returncode == 0 and never.stdout.count("never polled") == 2

        polled = newsmon("poll", db=db, env=env)
        assert polled.returncode == 1, polled.stderr  # three pages refused, each named
        assert "feeds: 2 fetched" in polled.stdout
        assert "6 stored" in polled.stdout
        assert "rule putin-xi: 5 alerts" in polled.stdout
        assert polled.stderr.count("rejected: ") == 3

        listed = newsmon("feeds", db=db, env=env)
        assert "rt-arabic" in listed.stdout and "3 stored, 0 pending" in listed.stdout

        unknown = newsmon("poll", "--feed", "nope", db=db, env=env)
        assert unknown.returncode == 2 and "not in the feed list: nope" in unknown.stderr
        bad = newsmon("poll", db=db, env={**env, "NEWSMON_FETCH_ALLOW": "not-a-network"})
        assert bad.returncode == 2 and "not-a-network" in bad.stderr


def test_a_poisoned_feed_costs_only_its_bad_entries(tmp_path: Path, seeds: Path) -> None:
    with http_site() as site:
        title, text = _seed(seeds, "004")
        site.routes["/good-page"] = (200, {}, _page(title, text, site.url + "/good-page"))
        site.routes["/poisoned"] = (
            200,
            {"Content-Type": "application/rss+xml"},
            (
                "<rss version='2.0'><channel><title>x</title>"
                "<item><title>bad ipv6</title><link>http://[::1</link></item>"
                "<item><title>bad port</title><link>http://127.0.0.1:99999/x</link></item>"
                f"<item><title>{title}</title><link>{site.url}/good-page</link></item>"
                "</channel></rss>"
            ).encode(),
        )
        feeds = _feed_file(tmp_path, site, {"poisoned": "/poisoned"})
        settings = _settings(tmp_path, site, feeds)
        first = poll_feeds_flow(pipeline_config(settings))
        assert first.stored == 1  # the good entry's story
        reasons = {r.source: r.reason for r in first.rejected}
        assert reasons[f"{site.url}/poisoned: entry http://[::1"] == "bad link: Invalid IPv6 URL"
        bad_port = next(r for s, r in reasons.items() if "99999" in s)
        assert "Port out of range" in bad_port
        assert first.status == "some-rejected"
        # Refused once: the next poll finds nothing pending and nothing wrong.
        second = poll_feeds_flow(pipeline_config(settings), force=True)
        assert (second.stored, second.rejected, second.status) == (0, [], "ok")


def _feed_failed_events(since: datetime, feeds: set[str]) -> dict[str, dict[str, Any]]:
    """The `newsmon.feed.failed` events for these feeds since then, by feed name."""

    def by_feed(events: list[Any]) -> dict[str, dict[str, Any]]:
        return {e.payload["feed"]: e.payload for e in events if e.payload["feed"] in feeds}

    return by_feed(
        wait_for_events(FEED_FAILED, since, lambda events: set(by_feed(events)) == feeds)
    )


def _last_poll_state(since: datetime) -> str:
    """The state of the newest poll-feeds flow run started since then."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["poll-feeds"])),
            flow_run_filter=FlowRunFilter(
                start_time=FlowRunFilterStartTime(after_=since - timedelta(seconds=1)),
                deployment_id=FlowRunFilterDeploymentId(is_null_=True),  # not a served run
            ),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    assert runs and runs[0].state is not None
    return runs[0].state.type.value


def test_a_poll_whose_feeds_all_fail_is_a_failed_run_and_says_so(
    tmp_path: Path, seeds: Path
) -> None:
    with http_site() as site:
        _newsroom(site, seeds)
        site.routes["/broken"] = (500, {}, b"")
        site.routes["/garbage"] = (200, {"Content-Type": "text/html"}, b"<html><body>hi")
        dead = _feed_file(tmp_path, site, {"broken": "/broken", "garbage": "/garbage"})
        env = {
            "NEWSMON_FEEDS": str(dead),
            "NEWSMON_FETCH_ALLOW": f"127.0.0.1:{site.port}",
            "NEWSMON_FETCH_HOST_DELAY": "0",
            "NEWSMON_FETCH_RETRY_DELAY": "60",
        }
        db = tmp_path / "store.db"
        since = datetime.now(UTC)
        polled = newsmon("poll", db=db, env=env)
        assert polled.returncode == 1, polled.stderr
        assert "none of the 2 due feeds could be read" in polled.stderr
        assert "feeds: 1 failed, 1 refused" in polled.stdout
        assert _last_poll_state(since) == "FAILED"
        events = _feed_failed_events(since, {"broken", "garbage"})
        assert events["broken"]["status"] == "failed" and "HTTP 500" in events["broken"]["error"]
        assert events["garbage"]["status"] == "refused"
        assert events["broken"]["url"] == f"{site.url}/broken"

        # One feed read, one dead: the run completes, still exits 1, one event for the dead.
        mixed = _feed_file(tmp_path, site, {"broken": "/broken", "france24-arabic": "/ar/rss"})
        since = datetime.now(UTC)
        second = newsmon("poll", "--force", db=db, env={**env, "NEWSMON_FEEDS": str(mixed)})
        assert second.returncode == 1, second.stderr
        assert "3 stored" in second.stdout and "could be read" not in second.stderr
        assert _last_poll_state(since) == "COMPLETED"
        assert set(_feed_failed_events(since, {"broken", "france24-arabic"})) == {"broken"}


def test_a_feed_silent_past_its_limit_is_announced_once(tmp_path: Path, seeds: Path) -> None:
    with http_site() as site:
        _newsroom(site, seeds)
        feeds = tmp_path / "feeds.yml"
        feeds.write_text(
            f"feeds:\n  - name: quiet\n    url: {site.url}/ar/rss\n    silent_after: 2s\n",
            encoding="utf-8",
        )
        settings = _settings(tmp_path, site, feeds)
        since = datetime.now(UTC)
        first = poll_feeds_flow(pipeline_config(settings))
        assert first.stored == 3  # new entries: the feed spoke
        time.sleep(2.2)
        for _ in range(2):  # the same feed, unchanged, twice: one silence, one notice
            assert poll_feeds_flow(pipeline_config(settings), force=True).feeds == {"unchanged": 1}

        def quiet(events: list[Any]) -> list[Any]:
            return [e for e in events if e.payload["feed"] == "quiet"]

        events = quiet(wait_for_events(FEED_SILENT, since, lambda got: bool(quiet(got))))
        time.sleep(1)  # a second notice, had one been emitted, would have arrived by now
        events = quiet(wait_for_events(FEED_SILENT, since, lambda got: len(quiet(got)) > 1, 3))
        [event] = events
        assert event.resource.id == "newsmon.feed.quiet"
        assert event.payload["url"] == f"{site.url}/ar/rss"
        assert event.payload["silent_after_seconds"] == 2.0
        assert event.payload["silent_for_seconds"] >= 2
        listed = newsmon("feeds", db=settings.db, env={"NEWSMON_FEEDS": str(feeds)})
        assert "SILENT" in listed.stdout


def test_a_feed_silent_rule_mails_and_posts_once_per_silence(tmp_path: Path, seeds: Path) -> None:
    rules = tmp_path / "alerts.yml"
    rules.write_text(
        "rules:\n  - name: dead-feeds\n    description: A feed stopped\n"
        "    feed_silent: 2s\n    feeds: [quiet, gone]\n",
        encoding="utf-8",
    )
    with http_site() as site, smtp_peer() as smtp, webhook_peer() as hook:
        _newsroom(site, seeds)
        feeds = _feed_file(tmp_path, site, {"quiet": "/ar/rss", "gone": "/gone", "rt": "/rss/"})
        settings = _settings(
            tmp_path,
            site,
            feeds,
            alert_rules=rules,
            webhook_url=hook.url,
            **smtp.settings(None),
        )
        since = datetime.now(UTC)
        first = poll_feeds_flow(pipeline_config(settings))
        assert first.feed_alerts == [] and first.stored > 0  # nobody quiet for 2 s yet
        time.sleep(2.2)
        second = poll_feeds_flow(pipeline_config(settings), force=True)
        # rt brought nothing new either, but the rule watches only quiet and gone.
        assert sorted(a.feed for a in second.feed_alerts) == ["gone", "quiet"]
        assert second.delivery is not None and second.delivery.sent == 4
        third = poll_feeds_flow(pipeline_config(settings), force=True)
        assert third.feed_alerts == []  # the same silences: nothing sent again
        subjects = sorted(str(m["Subject"]) for m in smtp.messages)
        assert len(subjects) == 2 and all("dead-feeds: feed " in s for s in subjects)
        gone = next(m for m in smtp.messages if "feed gone " in str(m["Subject"]))
        text = gone.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert f"Feed: {site.url}/gone" in text and "Last error: " in text
        bodies = sorted((r.json() for r in hook.received), key=lambda b: b["feed"]["name"])
        assert [(b["type"], b["feed"]["name"]) for b in bodies] == [
            ("newsmon.feed-silent", "gone"),
            ("newsmon.feed-silent", "quiet"),
        ]
        assert bodies[0]["feed"]["last_status"] in ("failed", "refused")
        assert bodies[1]["feed"]["silent_for_seconds"] >= 2
        sent = wait_for_events(ALERT_SENT, since, lambda got: len(_feed_sent(got)) >= 4)
        assert sorted(e.payload["feed"] for e in _feed_sent(sent)) == ["gone"] * 2 + ["quiet"] * 2
        listed = newsmon("alerts", "--rule", "dead-feeds", db=settings.db)
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert len(lines) == 2 and all("silent since" in line for line in lines)
        assert all("email sent, webhook sent" in line for line in lines), lines


def _feed_sent(events: list[Any]) -> list[Any]:
    return [e for e in events if e.payload.get("kind") == "feed-silent"]


def test_a_poll_with_nothing_new_still_updates_feed_health_in_elasticsearch(
    tmp_path: Path, seeds: Path, elasticsearch: ElasticsearchTarget
) -> None:
    with http_site() as site:
        _newsroom(site, seeds)
        feeds = _feed_file(tmp_path, site, {"rt-arabic": "/rss/"})
        env = {
            **elasticsearch.env(),
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_FETCH_ALLOW": f"127.0.0.1:{site.port}",
            "NEWSMON_FETCH_HOST_DELAY": "0",
        }
        db = tmp_path / "store.db"
        first = newsmon("poll", db=db, env=env)
        assert "3 stored" in first.stdout, first.stdout + first.stderr
        again = newsmon("poll", "--force", db=db, env=env)
        assert again.returncode == 0 and "0 stored" in again.stdout, again.stdout + again.stderr

    feeds_index = elasticsearch.alias.removesuffix("-stories") + "-feeds"
    client = elasticsearch.sink(tmp_path).client
    client.indices.refresh(index=feeds_index)
    [feed] = [hit["_source"] for hit in client.search(index=feeds_index)["hits"]["hits"]]
    # Sent at the end of the second poll, which stored nothing: both polls counted.
    assert (feed["name"], feed["polls"], feed["last_status"]) == ("rt-arabic", 2, "not-modified")
