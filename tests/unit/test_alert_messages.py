"""What alerts say: email parts and headers, HTML escaping and direction, webhook JSON, HMAC."""

from __future__ import annotations

import email.policy
import json
import time
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser

from connectors.alert_messages import render, subject, webhook_payload
from connectors.email import email_message
from connectors.webhook import sign, verify
from newsmon.records import AlertMessage, AlertState, FeedAlert, StoryBrief

HEADLINE = "بوتين وشي يبحثان التعاون في اتصال هاتفي <عاجل>"


def _story(lang: str = "ar", title: str = HEADLINE, n: int = 1) -> StoryBrief:
    return StoryBrief(
        id=f"id{n}",
        cluster_id=f"id{n}",
        title=title,
        lead="بحث الرئيس الروسي فلاديمير بوتين ونظيره الصيني شي جين بينغ & غيرهما",
        lang=lang,
        url="https://arabic.example.com/news/putin-xi-call",
        sources=("https://arabic.example.com/news/putin-xi-call", "seeds/001.txt"),
        entities=(("Q7747", "فلاديمير بوتين", "person"), ("Q15031", "شي جين بينغ", "person")),
        published_at=datetime(2024, 5, 16, 9, 30, tzinfo=UTC),
    )


def _message(*stories: StoryBrief, kind: str = "alert") -> AlertMessage:
    return AlertMessage(
        key="k" * 32,
        rule="putin-xi",
        description="بوتين وشي",
        kind=kind,
        stories=stories,
        day="2026-11-21" if kind == "digest" else None,
    )


def test_email_has_subject_headers_and_both_parts_with_arabic_intact() -> None:
    mail = email_message(_message(_story()), "alerts@newsmon.example.org", ["a@x.org", "b@y.org"])
    parsed = BytesParser(policy=email.policy.default).parsebytes(bytes(mail))
    assert str(parsed["Subject"]) == f"[newsmon] putin-xi: {HEADLINE}"
    assert parsed["To"] == "a@x.org, b@y.org"
    assert parsed["Message-ID"] == f"<{'k' * 32}@newsmon.example.org>"
    assert parsed["X-Newsmon-Idempotency-Key"] == "k" * 32
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert HEADLINE in text and "فلاديمير بوتين, شي جين بينغ" in text
    assert "https://arabic.example.com/news/putin-xi-call" in text
    assert '<html lang="ar" dir="rtl">' in html
    # Story text is escaped in HTML, never markup.
    assert "&lt;عاجل&gt;" in html and "<عاجل>" not in html and "&amp; غيرهما" in html
    assert '<a href="https://arabic.example.com/news/putin-xi-call">' in html


def test_a_long_arabic_subject_keeps_its_spaces() -> None:
    long_title = " ".join(["الكرملين: بوتين ونظيره الصيني يعربان عن استعدادهما"] * 8)
    mail = email_message(_message(_story(title=long_title)), "a@b.c", ["x@y.z"])
    parsed = BytesParser(policy=email.policy.default).parsebytes(bytes(mail))
    got = str(parsed["Subject"])
    assert got.endswith("…") and len(got) <= 200
    assert got.removesuffix("…").removeprefix("[newsmon] putin-xi: ") in long_title


def test_english_story_is_left_to_right() -> None:
    html = render(_message(_story(lang="en", title="Putin and Xi talk")), "html")
    assert '<html lang="en" dir="ltr">' in html


def test_digest_lists_every_story() -> None:
    digest = _message(_story(n=1), _story(n=2), _story(n=3), kind="digest")
    assert subject(digest) == "[newsmon] putin-xi: 2026-11-21: 3 stories"
    text = render(digest, "txt")
    assert all(f"{n}. {HEADLINE}" in text for n in (1, 2, 3))
    body = webhook_payload(digest, datetime(2026, 11, 22, tzinfo=UTC))
    assert body["type"] == "newsmon.digest" and body["day"] == "2026-11-21"
    assert [s["id"] for s in body["stories"]] == ["id1", "id2", "id3"]


def test_an_update_replies_to_its_alert_in_the_same_thread() -> None:
    head = _story(n=1)
    alert = email_message(_message(head), "alerts@newsmon.example.org", ["a@x.org"])
    update = AlertMessage(
        key="u" * 32,
        rule="putin-xi",
        description="بوتين وشي",
        kind="update",
        stories=(_story(n=2, title="الكرملين: بوتين وشي بحثا الطاقة"), _story(n=3)),
        replies_to="k" * 32,
        head=head,
    )
    mail = email_message(update, "alerts@newsmon.example.org", ["a@x.org"])
    parsed = BytesParser(policy=email.policy.default).parsebytes(bytes(mail))
    assert parsed["In-Reply-To"] == parsed["References"] == alert["Message-ID"]
    assert parsed["Message-ID"] == f"<{'u' * 32}@newsmon.example.org>"
    assert str(parsed["Subject"]) == f"Re: {alert['Subject']}"
    text = parsed.get_body(("plain",)).get_content()
    assert "2 later reports of the event first reported as:" in text
    assert "1. الكرملين: بوتين وشي بحثا الطاقة" in text and f"2. {HEADLINE}" in text
    body = webhook_payload(update, datetime(2026, 11, 22, tzinfo=UTC))
    assert (body["type"], body["in_reply_to"]) == ("newsmon.update", "k" * 32)
    assert body["alert_story"]["id"] == "id1"
    assert [s["id"] for s in body["stories"]] == ["id2", "id3"]


def test_webhook_body_carries_story_entities_sources_and_rule() -> None:
    body = webhook_payload(_message(_story()), datetime(2026, 11, 22, tzinfo=UTC))
    assert body["type"] == "newsmon.alert" and body["rule"] == "putin-xi"
    assert body["idempotency_key"] == "k" * 32
    story = body["story"]
    assert (story["id"], story["headline"]) == ("id1", HEADLINE)
    assert [e["id"] for e in story["entities"]] == ["Q7747", "Q15031"]
    assert story["sources"][1] == "seeds/001.txt"
    assert story["published_at"] == "2024-05-16T09:30:00+00:00"
    json.dumps(body)  # serialisable as is


def test_a_silent_feed_alert_says_which_feed_since_when_and_its_last_error() -> None:
    matched = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    feed = FeedAlert(
        id=3,
        rule="feed-silent",
        feed="rt-arabic",
        url="https://arabic.rt.example/rss/",
        quiet_since=matched - timedelta(days=1, hours=2, minutes=5),
        matched_at=matched,
        state=AlertState.QUEUED,
        last_poll_at=matched,
        last_status="failed",
        last_error="feed answered 403 <Forbidden>",
    )
    message = AlertMessage("f" * 32, "feed-silent", "dead feeds", "feed-silent", (), feed=feed)
    mail = email_message(message, "alerts@newsmon.example.org", ["desk@x.org"])
    parsed = BytesParser(policy=email.policy.default).parsebytes(bytes(mail))
    assert str(parsed["Subject"]) == (
        "[newsmon] feed-silent: feed rt-arabic silent since 2026-11-20 09:55 UTC"
    )
    text = parsed.get_body(("plain",)).get_content()
    assert 'Feed "rt-arabic" has brought nothing new for 1 d 2 h.' in text
    assert "Last error: feed answered 403 <Forbidden>" in text
    html = parsed.get_body(("html",)).get_content()
    assert '<html lang="en" dir="ltr">' in html and "403 &lt;Forbidden&gt;" in html
    body = webhook_payload(message, matched)
    assert body["type"] == "newsmon.feed-silent" and "story" not in body
    assert body["feed"] == {
        "name": "rt-arabic",
        "url": "https://arabic.rt.example/rss/",
        "quiet_since": "2026-11-20T09:55:00+00:00",
        "silent_for_seconds": 93900,
        "last_poll_at": "2026-11-21T12:00:00+00:00",
        "last_status": "failed",
        "last_error": "feed answered 403 <Forbidden>",
    }


def test_signature_verifies_and_rejects_tampering_and_replays() -> None:
    body = json.dumps({"a": "بوتين"}, ensure_ascii=False).encode()
    now = str(int(time.time()))
    signature = sign("secret", now, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("secret", now, body, signature)
    assert not verify("other", now, body, signature)
    assert not verify("secret", now, body + b" ", signature)
    old = str(int(time.time()) - 3600)
    assert not verify("secret", old, body, sign("secret", old, body))  # a replay
    assert not verify("secret", "not-a-time", body, signature)
