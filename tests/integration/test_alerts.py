"""Alerts end to end: the real Prefect engine, a real SMTP server and a webhook on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fault_figures import FaultFigures
from peers import (
    SmtpPeer,
    WebhookPeer,
    free_port,
    newsmon,
    self_signed_cert,
    smtp_peer,
    webhook_peer,
)
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter
from prefect.server.events.schemas.automations import EventTrigger

from flows import pipeline
from flows.ingest import ingest_files
from newsmon.alerts.channels import open_channels
from newsmon.alerts.check import close_digests
from newsmon.alerts.delivery import deliver
from newsmon.alerts.rules import load_alert_rules
from newsmon.compose import alert_config, open_store, pipeline_config
from newsmon.records import AlertRecord, Article
from newsmon.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LEADERS = {"Q7747", "Q15031"}
SECRET = "shared-webhook-secret"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def _settings(
    tmp_path: Path, smtp: SmtpPeer | None, hook_url: str | None, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "db": tmp_path / "store.db",
        "webhook_url": hook_url,
        "webhook_secret": SECRET,
        "webhook_timeout": 2.0,
        "alert_backoff": (0.2, 0.4),
        "alert_run_retries": 2,
        "alert_lease_seconds": 30,
    }
    if smtp:
        values.update(smtp.settings(extra.pop("cert", None)))
    values.update(extra)
    return Settings(**values)


def _env(settings: Settings) -> dict[str, str]:
    """The settings as NEWSMON_* variables for a `newsmon` subprocess."""
    env = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        if name in Settings.model_fields and value != Settings.model_fields[name].default:
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            if isinstance(value, tuple):
                value = json.dumps(list(value)) if name != "alert_email_to" else ",".join(value)
            env[f"NEWSMON_{name.upper()}"] = str(value)
    return env


def _ids(article: Article) -> set[str]:
    return {tag.id for tag in article.entities}


def _putin_xi(alerts: list[AlertRecord]) -> list[AlertRecord]:
    return [a for a in alerts if a.rule == "putin-xi"]


def _rules_file(tmp_path: Path, *lines: str) -> Path:
    """A rules file holding one rule, given as its YAML lines (name first)."""
    path = tmp_path / "rules.yml"
    body = "".join(f"  {'- ' if n == 0 else '  '}{line}\n" for n, line in enumerate(lines))
    path.write_text("rules:\n" + body, encoding="utf-8")
    return path


def _verify_as_receiver(received: Any) -> dict[str, Any]:
    """What a receiver does: check the signature over timestamp and body, then parse."""
    timestamp = received.headers["x-signature-timestamp"]
    expected = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    assert received.headers["x-signature"] == f"sha256={expected}"
    assert abs(time.time() - int(timestamp)) < 120
    body: dict[str, Any] = json.loads(received.body.decode("utf-8"))
    assert body["idempotency_key"] == received.headers["idempotency-key"]
    return body


def _story_events(since: datetime) -> list[Any]:
    """`newsmon.story.new` events the Prefect API recorded (it stores them asynchronously)."""
    found: list[Any] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            page = client.read_events(
                EventFilter(
                    occurred=EventOccurredFilter(since=since),
                    event=EventNameFilter(name=["newsmon.story.new"]),
                ),
                limit=50,
            )
        found = [e for e in page.events if e.occurred >= since]
        if len(found) >= 8:
            return found
        time.sleep(0.5)
    return found


def test_new_putin_xi_stories_reach_email_and_webhook_once(
    inbox: Path, fixtures: Path, tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    for name in ("putin-only.txt", "xi-only.txt"):
        shutil.copy(fixtures / "alerts" / name, inbox / name)
    started = datetime.now(UTC) - timedelta(seconds=1)
    with smtp_peer("starttls", tls) as smtp, webhook_peer() as hook:
        settings = _settings(tmp_path, smtp, hook.url, cert=tls[0])
        summary = ingest_files([str(inbox)], pipeline_config(settings))

        store = open_store(settings)
        try:
            by_name = {Path(a.source).name: a for a in store.iter_articles()}
        finally:
            store.close()
        firsts_with_both = {
            a.id for a in by_name.values() if a.duplicate_of is None and _ids(a) >= LEADERS
        }
        alerted = {a.article_id for a in _putin_xi(summary.alerts)}
        # Once per new story naming both: 4 seeds, the copy of 002 read before the seed,
        # and the records file's Putin–Xi call.
        assert alerted == firsts_with_both
        assert len(alerted) == len(_putin_xi(summary.alerts)) == 6
        assert by_name["syndicated-002.txt"].id in alerted
        assert by_name["002_78f173c836337b59.txt"].id not in alerted  # a duplicate copy
        assert by_name["putin-only.txt"].id not in alerted
        assert by_name["xi-only.txt"].id not in alerted
        for alert in _putin_xi(summary.alerts):
            assert [(d.channel, str(d.state)) for d in alert.deliveries] == [
                ("email", "sent"),
                ("webhook", "sent"),
            ]

        # Email: STARTTLS, AUTH, one message per alert, both parts, Arabic intact, RTL HTML.
        assert len(smtp.messages) == 6 and smtp.logins
        titles = {by_name[n].title for n in by_name if by_name[n].id in alerted}
        for mail, (sender, rcpts) in zip(smtp.messages, smtp.envelopes, strict=True):
            assert sender == "newsmon@monitor.example.org"
            assert rcpts == ["analysts@example.org", "desk@example.org"]
            subject = str(mail["Subject"])
            assert subject.startswith("[newsmon] putin-xi: ")
            headline = subject.removeprefix("[newsmon] putin-xi: ")
            assert headline in titles
            assert mail["Message-ID"].endswith("@monitor.example.org>")
            text = mail.get_body(("plain",)).get_content()
            html = mail.get_body(("html",)).get_content()
            assert headline in text and "Q7747" not in text  # names, not ids, for readers
            assert '<html lang="ar" dir="rtl">' in html
            assert headline.replace("«", "&laquo;")[:20] in html or headline[:20] in html
            assert "فلاديمير بوتين" in text or "بوتين" in text
        assert len({m["Message-ID"] for m in smtp.messages}) == 6

        # Webhook: signed as a receiver verifies it, one request per alert.
        bodies = [_verify_as_receiver(r) for r in hook.received]
        assert len(bodies) == 6
        assert {b["story"]["id"] for b in bodies} == alerted
        assert len({b["idempotency_key"] for b in bodies}) == 6
        for body in bodies:
            assert body["rule"] == "putin-xi" and body["type"] == "newsmon.alert"
            assert {e["id"] for e in body["story"]["entities"]} >= LEADERS
            assert body["story"]["headline"] in titles and body["story"]["sources"]
        call = next(b for b in bodies if b["story"]["url"])
        assert call["story"]["url"] == "https://arabic.example.com/news/putin-xi-call"
        assert len(call["story"]["sources"]) == 2

        # The same seeds again: nothing new, nothing sent.
        again = ingest_files([str(inbox / "seeds")], pipeline_config(settings))
        assert again.alerts == []
        assert (len(smtp.messages), len(hook.received)) == (6, 6)

    # Prefect events: one per new story, its entities related; the shipped trigger
    # matches exactly the stories that name both leaders.
    events = _story_events(started)
    first_copies = {a.cluster_id for a in by_name.values() if a.duplicate_of is None}
    assert {e.resource.id.removeprefix("newsmon.story.") for e in events} == first_copies
    deployments = yaml.safe_load((ROOT / "deploy/prefect.yaml").read_text("utf-8"))["deployments"]
    [spec] = [t for d in deployments for t in d.get("triggers", [])]
    spec = {k: v for k, v in spec.items() if k not in ("parameters", "enabled")}
    trigger = EventTrigger.model_validate(spec)
    fired = {e.payload["article_id"] for e in events if trigger.covers(e)}
    assert fired == alerted


def test_ten_write_ups_of_one_call_alert_once_and_list_nine_updates(
    fixtures: Path, tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    call = fixtures / "events" / "putin-xi-call"
    with smtp_peer("starttls", tls) as smtp, webhook_peer() as hook:
        settings = _settings(tmp_path, smtp, hook.url, cert=tls[0])
        summary = ingest_files([str(call)], pipeline_config(settings))
        assert summary.stored == 10
        [alert] = _putin_xi(summary.alerts)
        assert len(smtp.messages) == 1 and len(hook.received) == 1

        store = open_store(settings)
        try:
            stored = {Path(a.source).name: a for a in store.iter_articles()}
            [listed] = store.alerts(rule="putin-xi")
        finally:
            store.close()
        first = stored["01.txt"]
        assert alert.article_id == first.id and alert.event_id == first.event_id
        assert len({a.event_id for a in stored.values()}) == 1
        assert len({a.cluster_id for a in stored.values()}) == 10  # ten stories, no copies
        assert {u.article_id for u in listed.updates} == {
            a.id for name, a in stored.items() if name != "01.txt"
        }
        body = _verify_as_receiver(hook.received[0])
        assert body["story"]["event_id"] == first.event_id

        # The same write-ups again: nothing new, no alert, no update, nothing sent.
        again = ingest_files([str(call)], pipeline_config(settings))
        assert again.stored == 0 and again.alerts == []
        store = open_store(settings)
        try:
            [listed_again] = store.alerts(rule="putin-xi")
        finally:
            store.close()
        assert listed_again.updates == listed.updates
        assert (len(smtp.messages), len(hook.received)) == (1, 1)

    shown = newsmon("alerts", "--rule", "putin-xi", db=settings.db)
    assert "9 later stories of its event" in shown.stdout
    assert shown.stdout.count("    update ") == 9


def test_an_events_later_stories_arrive_as_replies_in_the_alerts_thread(
    fixtures: Path, tmp_path: Path
) -> None:
    rules = _rules_file(
        tmp_path,
        "name: putin-xi",
        "all_of: [Q7747, Q15031]",
        "per: event",
        "updates: digest",
        "updates_every: 0",
    )
    call = sorted((fixtures / "events" / "putin-xi-call").glob("*.txt"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with smtp_peer("none") as smtp, webhook_peer() as hook:
        settings = _settings(tmp_path, smtp, hook.url, alert_rules=rules)
        for path in call[:5]:
            shutil.copy(path, inbox / path.name)
        first = ingest_files([str(inbox)], pipeline_config(settings))
        [alert] = first.alerts
        # The alert, then one reply carrying the other four write-ups of the call.
        assert len(smtp.messages) == 2 and len(hook.received) == 2
        for path in call[5:]:
            shutil.copy(path, inbox / path.name)
        second = ingest_files([str(inbox)], pipeline_config(settings))
        assert second.stored == 5 and second.alerts == []
        # One more reply, with the five new write-ups, in the same thread.
        assert len(smtp.messages) == 3 and len(hook.received) == 3
        again = ingest_files([str(inbox)], pipeline_config(settings))
        assert again.stored == 0 and (len(smtp.messages), len(hook.received)) == (3, 3)

    store = open_store(settings)
    try:
        titles = {Path(a.source).name: a.title for a in store.iter_articles()}
        [listed] = store.alerts(rule="putin-xi")
    finally:
        store.close()
    head, *replies = smtp.messages
    assert str(head["Subject"]) == f"[newsmon] putin-xi: {titles['01.txt']}"
    for reply, names in zip(replies, (call[1:5], call[5:]), strict=True):
        assert reply["In-Reply-To"] == reply["References"] == head["Message-ID"]
        assert str(reply["Subject"]) == f"Re: {head['Subject']}"
        text = reply.get_body(("plain",)).get_content()
        assert f"{len(names)} later reports of the event first reported as:" in text
        assert all(f"{n}. {titles[p.name]}" in text for n, p in enumerate(names, 1))
    alert_body, *update_bodies = [_verify_as_receiver(r) for r in hook.received]
    for body, names in zip(update_bodies, (call[1:5], call[5:]), strict=True):
        assert body["type"] == "newsmon.update"
        assert body["in_reply_to"] == alert_body["idempotency_key"]
        assert body["event_id"] == alert.event_id == alert_body["story"]["event_id"]
        assert [s["headline"] for s in body["stories"]] == [titles[p.name] for p in names]
    assert len(listed.updates) == 9 and all(u.in_message for u in listed.updates)
    shown = newsmon("alerts", "--rule", "putin-xi", db=settings.db)
    assert "update messages: 4 sent" in shown.stdout  # two replies, by email and webhook
    assert shown.stdout.count("(in an update message)") == 9


def test_a_breaking_rule_fires_once_when_the_third_outlet_reports_the_event(
    fixtures: Path, tmp_path: Path
) -> None:
    rules = _rules_file(
        tmp_path,
        "name: putin-xi-breaking",
        "all_of: [Q7747, Q15031]",
        "breaking: {sources: 3, within: 2h}",
    )
    settings = _settings(tmp_path, None, None, alert_rules=rules)
    call = fixtures / "events" / "putin-xi-call"
    inbox = tmp_path / "inbox"

    def report(outlet: str, name: str) -> None:
        (inbox / outlet).mkdir(parents=True, exist_ok=True)
        shutil.copy(call / name, inbox / outlet / name)

    # Two outlets (a file's outlet is its folder), three reports: not breaking yet.
    report("outlet-a", "01.txt")
    report("outlet-b", "02.txt")
    report("outlet-b", "03.txt")
    first = ingest_files([str(inbox)], pipeline_config(settings))
    assert first.stored == 3 and first.alerts == []
    # A third outlet: the event breaks, once.
    report("outlet-c", "04.txt")
    second = ingest_files([str(inbox)], pipeline_config(settings))
    [alert] = second.alerts
    assert alert.rule == "putin-xi-breaking"
    store = open_store(settings)
    try:
        articles = {Path(a.source).name: a for a in store.iter_articles()}
    finally:
        store.close()
    assert alert.article_id == articles["04.txt"].id
    assert alert.title == articles["04.txt"].title
    assert alert.event_id == articles["01.txt"].event_id
    # A fourth outlet: the event already broke.
    report("outlet-d", "05.txt")
    third = ingest_files([str(inbox)], pipeline_config(settings))
    assert third.stored == 1 and third.alerts == []


def test_faults_then_recovery_every_alert_arrives_once(
    seeds: Path, tmp_path: Path, tls: tuple[Path, Path], fault_figures: FaultFigures
) -> None:
    with smtp_peer("ssl", tls) as smtp, webhook_peer() as hook:
        smtp.refuse = ["451 4.3.0 Mailbox busy, try again later"] * 2
        # 500, then a request that outlives the client's timeout, then 503, then 200s.
        hook.script = [500, ("sleep", 1.5), 503]
        settings = _settings(tmp_path, smtp, hook.url, cert=tls[0], webhook_timeout=0.5)
        summary = ingest_files([str(seeds)], pipeline_config(settings))

        assert len(_putin_xi(summary.alerts)) == 5
        store = open_store(settings)
        try:
            assert store.delivery_counts() == {"pending": 0, "sent": 10, "given-up": 0}
            retried = [
                d for a in store.alerts(rule="putin-xi") for d in a.deliveries if d.attempts > 1
            ]
        finally:
            store.close()
        assert {d.channel for d in retried} == {"email", "webhook"}

        errors = "\n".join(summary.delivery.errors if summary.delivery else [])
        case = "SMTP 451 twice, webhook 500/timeout/503, same run"
        _record_messages(fault_figures, case, 5, smtp, hook, errors)
        # Email: the two refused attempts were retried; five messages, none twice.
        assert len(smtp.messages) == 5
        assert len({m["Message-ID"] for m in smtp.messages}) == 5
        # Webhook: five keys accepted. The timed-out request was processed by the receiver
        # and sent again with the same key: the only key seen twice, dropped by key.
        keys = Counter(hook.accepted_keys())
        assert len(keys) == 5
        assert sorted(keys.values()) == [1, 1, 1, 1, 2]
        for received in hook.received:
            _verify_as_receiver(received)


def test_receivers_down_for_a_whole_run_then_retry(
    seeds: Path, tmp_path: Path, fault_figures: FaultFigures
) -> None:
    smtp_port, hook_port = free_port(), free_port()
    settings = _settings(
        tmp_path,
        None,
        f"http://127.0.0.1:{hook_port}/hooks/newsmon",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        alert_email_to=("analysts@example.org",),
        alert_run_retries=1,
    )
    # As a user runs it: the CLI, in its own process with Prefect's ephemeral API.
    run = newsmon("run", str(seeds), db=settings.db, env=_env(settings))
    assert run.returncode == 0, run.stderr
    assert "rule putin-xi: 5 alerts" in run.stdout
    assert "deliveries: 0 sent, 10 pending, 0 given up (see newsmon alerts --unsent)" in run.stdout

    listed = newsmon("alerts", "--unsent", "--json", db=settings.db, env=_env(settings))
    alerts = [json.loads(line) for line in listed.stdout.splitlines()]
    deliveries = [d for alert in alerts for d in alert["deliveries"]]
    assert len(alerts) == 5 and len(deliveries) == 10
    for delivery in deliveries:
        assert (delivery["state"], delivery["attempts"]) == ("pending", 2)
        assert "connection" in delivery["last_error"].lower()

    # The receivers come back up where the settings point.
    with smtp_peer("none", port=smtp_port) as smtp, webhook_peer(port=hook_port) as hook:
        retried = newsmon("alerts", "retry", db=settings.db, env=_env(settings))
        assert retried.returncode == 0, retried.stderr
        assert "sent 10, to retry 0, given up 0" in retried.stdout
        case = "SMTP and webhook down a whole run, then up"
        _record_messages(fault_figures, case, 5, smtp, hook, run.stderr + retried.stderr)
        assert len(smtp.messages) == 5
        assert len(Counter(hook.accepted_keys())) == 5 == len(hook.received)

        again = newsmon("alerts", "retry", db=settings.db, env=_env(settings))
        assert again.returncode == 0 and "sent 0" in again.stdout
        rerun = ingest_files([str(seeds)], pipeline_config(settings))
        assert rerun.alerts == [] and (len(smtp.messages), len(hook.received)) == (5, 5)


def _record_messages(
    figures: FaultFigures,
    case: str,
    alerts: int,
    smtp: SmtpPeer,
    hook: WebhookPeer,
    errors: str,
) -> None:
    """Per channel, the alerts' messages that never arrived, and those that arrived twice
    under different keys (a receiver dropping repeats by idempotency key keeps those); an
    internal error or a traceback in what the run said (`errors`) is a crash."""
    mails = len({m["Message-ID"] for m in smtp.messages})
    keys = len(set(hook.accepted_keys()))
    figures.record(
        case,
        tried=2 * alerts,
        lost=max(alerts - mails, 0) + max(alerts - keys, 0),
        doubled=max(mails - alerts, 0) + max(keys - alerts, 0),
        crashes=int("internal error" in errors or "Traceback" in errors),
    )


def _pending_webhooks(seeds: Path, tmp_path: Path, **extra: Any) -> Settings:
    """A store whose five putin-xi webhook deliveries are pending (the receiver was down)."""
    down = f"http://127.0.0.1:{free_port()}/hooks/newsmon"
    settings = _settings(tmp_path, None, down, alert_run_retries=0, **extra)
    summary = ingest_files([str(seeds)], pipeline_config(settings))
    assert summary.delivery is not None and summary.delivery.retrying == 5
    return settings


def test_permanent_refusal_is_given_up_with_its_reason(seeds: Path, tmp_path: Path) -> None:
    settings = _pending_webhooks(seeds, tmp_path)
    with webhook_peer() as hook:
        hook.script = [400] * 5
        env = {**_env(settings), "NEWSMON_WEBHOOK_URL": hook.url}
        refused = newsmon("alerts", "retry", db=settings.db, env=env)
        assert refused.returncode == 1
        assert "sent 0, to retry 0, given up 5" in refused.stdout
        assert refused.stderr.count("webhook answered 400 Bad Request: scripted 400") == 5
        listed = newsmon("alerts", "--json", db=settings.db, env=env)
        states = [d for line in listed.stdout.splitlines() for d in json.loads(line)["deliveries"]]
        assert len(states) == 5
        assert all(d["state"] == "given-up" and d["attempts"] == 2 for d in states)
        assert all(d["last_error"].startswith("gave up (permanent error)") for d in states)

        # Nothing is retried until asked; after the receiver is fixed, --given-up sends.
        assert "sent 0" in newsmon("alerts", "retry", db=settings.db, env=env).stdout
        fixed = newsmon("alerts", "retry", "--given-up", db=settings.db, env=env)
        assert fixed.returncode == 0, fixed.stderr
        assert "requeued: 5" in fixed.stdout and "sent 5" in fixed.stdout
        assert len(hook.accepted_keys()) == 5 == len(set(hook.accepted_keys()))


def test_two_senders_at_once_send_each_message_once(
    seeds: Path, tmp_path: Path, store_location: str
) -> None:
    smtp_port, hook_port = free_port(), free_port()
    settings = _settings(
        tmp_path,
        None,
        f"http://127.0.0.1:{hook_port}/hooks/newsmon",
        db=store_location,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        alert_email_to=("analysts@example.org",),
        alert_run_retries=0,
    )
    summary = ingest_files([str(seeds)], pipeline_config(settings))  # both receivers down
    assert summary.delivery is not None and summary.delivery.retrying == 10
    with smtp_peer("none", port=smtp_port) as smtp, webhook_peer(port=hook_port) as hook:
        hook.delay = 0.3  # slow receiver: both senders are busy at the same time
        command = [sys.executable, "-m", "newsmon", "alerts", "retry"]
        full_env = {**os.environ, **_env(settings)}
        senders = [
            subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in senders]
        assert [p.returncode for p in senders] == [0, 0], outputs
        keys = [r.headers["idempotency-key"] for r in hook.received]
        assert len(keys) == 5 == len(set(keys))
        assert len(smtp.messages) == 5 == len({m["Message-ID"] for m in smtp.messages})
        sent = sorted(int(out.split("sent ")[1].split(",")[0]) for out in outputs)
        assert sum(sent) == 10


def test_crash_between_send_and_mark_resends_with_the_same_key(seeds: Path, tmp_path: Path) -> None:
    # The lease must outlast a `newsmon` start-up (a few seconds on a loaded 2-core machine).
    settings = _pending_webhooks(seeds, tmp_path, alert_lease_seconds=8)
    with webhook_peer() as hook:
        env = {**_env(settings), "NEWSMON_WEBHOOK_URL": hook.url}
        full_env = {**os.environ, "NEWSMON_DB": str(settings.db), **env}
        sender = subprocess.Popen(
            [sys.executable, "-m", "newsmon", "alerts", "retry"],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # The receiver has the first message when the sender dies, before it can mark it sent.
        hook.on_request = lambda received: sender.kill()
        sender.communicate(timeout=120)
        killed_at = time.monotonic()
        assert sender.returncode == -9
        hook.on_request = None
        crashed_key = hook.received[0].headers["idempotency-key"]

        # Within its lease nobody else may send the message the dead sender held; the
        # others go. After the lease it goes again, with the same key.
        early = newsmon("alerts", "retry", db=settings.db, env=env)
        assert early.returncode == 0 and "sent 4" in early.stdout, early.stderr
        assert "outbox: 1 pending" in early.stdout
        time.sleep(max(0.0, 8.2 - (time.monotonic() - killed_at)))
        later = newsmon("alerts", "retry", db=settings.db, env=env)
        assert later.returncode == 0 and "sent 1" in later.stdout, later.stderr
        keys = Counter(r.headers["idempotency-key"] for r in hook.received)
        assert len(keys) == 5
        assert keys[crashed_key] == 2  # the resend the receiver drops by its key
        assert sorted(keys.values()) == [1, 1, 1, 1, 2]
        assert "sent 0" in newsmon("alerts", "retry", db=settings.db, env=env).stdout


def test_daily_digest_gathers_the_day_in_one_message(seeds: Path, tmp_path: Path) -> None:
    rules = _rules_file(
        tmp_path,
        "name: putin-xi-daily",
        "description: كل أخبار بوتين وشي في رسالة يومية",
        "all_of: [Q7747, Q15031]",
        "digest: daily",
    )
    with smtp_peer("none") as smtp, webhook_peer() as hook:
        settings = _settings(
            tmp_path, smtp, hook.url, alert_rules=rules, alert_timezone="Europe/Moscow"
        )
        summary = ingest_files([str(seeds)], pipeline_config(settings))
        assert [str(a.state) for a in summary.alerts] == ["digest"] * 5
        assert (smtp.messages, hook.received) == ([], [])  # the day is not over

        store = open_store(settings)
        channels = open_channels(alert_config(settings))
        try:
            alert_rules = load_alert_rules(rules)
            policy = alert_config(settings).retry
            assert close_digests(store, alert_rules, alert_config(settings)) == 0  # still today
            tomorrow = datetime.now(UTC) + timedelta(days=1)
            assert close_digests(store, alert_rules, alert_config(settings), now=tomorrow) == 2
            assert close_digests(store, alert_rules, alert_config(settings), now=tomorrow) == 0
            report = deliver(store, channels, alert_rules, policy, clock=lambda: tomorrow)
        finally:
            for channel in channels.values():
                channel.close()
            store.close()
        assert (report.sent, report.retrying, report.given_up) == (2, 0, 0)

        day = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow"))
        (mail,) = smtp.messages
        assert str(mail["Subject"]) == f"[newsmon] putin-xi-daily: {day.date()}: 5 stories"
        text = mail.get_body(("plain",)).get_content()
        assert all(f"{n}. " in text for n in range(1, 6))
        assert "كل أخبار بوتين وشي في رسالة يومية" in text
        (received,) = hook.received
        body = _verify_as_receiver(received)
        assert body["type"] == "newsmon.digest" and body["day"] == day.date().isoformat()
        assert len(body["stories"]) == 5


def test_a_run_summary_keeps_its_first_alerts_and_counts_them_all(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A backfill fires an alert per story: the summary holds a few records, counts every one.
    monkeypatch.setattr(pipeline, "SUMMARY_ALERTS", 2)
    settings = _settings(tmp_path, None, None)
    summary = ingest_files([str(inbox)], pipeline_config(settings))
    store = open_store(settings)
    try:
        stored = store.alerts(limit=1000)
    finally:
        store.close()
    assert len(stored) > 2 and summary.alert_tally.total == len(stored)
    assert sum(summary.alert_tally.by_rule["putin-xi"].values()) == len(_putin_xi(stored))
    assert [a.id for a in summary.alerts] == sorted(a.id for a in stored)[:2]
