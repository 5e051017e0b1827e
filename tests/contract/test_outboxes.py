"""The outboxes: alerts (one per story, claims, leases, backoff) and Elasticsearch's."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from enrich.article import build_article
from enrich.dedup import DedupParams, fingerprinter_for, store_stories
from enrich.entities import tag_articles, tagger_for
from newsmon.alerts.check import check_new_stories, close_updates, rule_matches
from newsmon.alerts.rules import AlertRule
from newsmon.compose import StoreConfig, alert_config
from newsmon.ids import delivery_key
from newsmon.records import Article, ChannelTarget, CleanItem, RuleMatch
from newsmon.settings import Settings
from newsmon.store.base import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PARAGRAPH = (
    "أجرى الرئيس الروسي فلاديمير بوتين اتصالا هاتفيا مع نظيره الصيني شي جين بينغ اليوم،"
    " وبحث الزعيمان سبل تعزيز التعاون الاقتصادي بين البلدين وتنسيق المواقف في مجلس الأمن."
)
INDIA = (
    "قال الكرملين إن بوتين سيزور الهند الشهر المقبل لبحث صفقات الطاقة والسلاح"
    " مع رئيس الوزراء الهندي في نيودلهي."
)
BRICS = (
    "أعلن الكرملين أن بوتين سيشارك في قمة مجموعة بريكس المقبلة في البرازيل"
    " ويلقي كلمة أمام قادة الدول الأعضاء."
)
WEBHOOK = (ChannelTarget("webhook", "http://127.0.0.1/hook"),)


def _stored(store: Store, texts: list[str]) -> list[Article]:
    built = [
        build_article(CleanItem(f"{i}.txt", f"خبر {i}", t, "utf-8"), NOW)
        for i, t in enumerate(texts)
    ]
    tagged = tag_articles(built, tagger_for(None), None).items
    fingerprinter = fingerprinter_for(DedupParams())
    store_stories(store, [fingerprinter.fingerprint(a) for a in tagged], "run", DedupParams())
    return store.articles_by_id([a.id for a in tagged])


def _match(article: Article, throttle_seconds: float = 0.0, digest: bool = False) -> RuleMatch:
    story = article.cluster_id or article.id
    return RuleMatch("r", article.id, story, WEBHOOK, throttle_seconds, digest)


def test_new_stories_wait_in_the_queue_until_checked(store: Store) -> None:
    first, other = _stored(
        store,
        [
            PARAGRAPH,
            # A syndicated copy: one word changed, a sentence added.
            PARAGRAPH.replace("الاقتصادي", "العسكري")
            + " ثم انتهى الاتصال بعد ساعة كاملة من المباحثات المطولة.",
        ],
    )
    assert [a.id for a in store.alert_queue(10)] == [first.id, other.id]
    rule = AlertRule(name="putin-xi", all_of=("Q7747", "Q15031"))
    result = check_new_stories(store, [rule], alert_config(Settings()), "run", NOW)
    assert result.checked == 2 and store.alert_queue(10) == []
    # Two copies of one story: one alert, for the first; no channel configured: recorded.
    assert other.duplicate_of == first.id
    assert [(a.rule, a.article_id, str(a.state)) for a in result.alerts] == [
        ("putin-xi", first.id, "recorded")
    ]
    assert [a.id for a in result.new_stories] == [first.id]


def test_every_copy_alerts_when_new_story_only_is_off(store: Store) -> None:
    articles = _stored(store, [PARAGRAPH, PARAGRAPH + " وأضاف الكرملين أن الاتصال كان بناء."])
    rule = AlertRule(name="copies", all_of=("Q7747",), new_story_only=False)
    found = rule_matches(
        [rule], articles, alert_config(Settings(webhook_url="http://127.0.0.1:9/h"))
    )
    assert [m.story_key for m in found] == [a.id for a in articles]
    # The URL may hold a token in its path: only its origin is kept.
    assert found[0].channels == (ChannelTarget("webhook", "http://127.0.0.1:9/…"),)


def test_a_story_alerts_once_per_rule_whoever_records_it(store_config: StoreConfig) -> None:
    one, two = store_config.open(), store_config.open()
    (article,) = _stored(one, [PARAGRAPH])
    first, taken = one.record_alerts("a", [article.id], [_match(article)], NOW)
    # A second process that checked the same article too late records nothing.
    second, taken_late = two.record_alerts("b", [article.id], [_match(article)], NOW)
    assert len(first) == 1 and taken == [article.id]
    assert (second, taken_late) == ([], [])
    assert [d.channel for d in first[0].deliveries] == ["webhook"]
    assert first[0].deliveries[0].state == "pending"
    one.close()
    two.close()


def test_throttle_window(store: Store) -> None:
    a, b, c = _stored(
        store,
        [
            PARAGRAPH,
            INDIA,
            BRICS,
        ],
    )
    hour = 3600.0
    (first,), _ = store.record_alerts("r", [a.id], [_match(a, throttle_seconds=hour)], NOW)
    later = NOW + timedelta(minutes=30)
    (second,), _ = store.record_alerts("r", [b.id], [_match(b, throttle_seconds=hour)], later)
    after = NOW + timedelta(minutes=61)
    (third,), _ = store.record_alerts("r", [c.id], [_match(c, throttle_seconds=hour)], after)
    assert [str(x.state) for x in (first, second, third)] == ["queued", "throttled", "queued"]
    assert second.deliveries == ()


def test_claims_leases_attempts_and_backoff(store: Store) -> None:
    (article,) = _stored(store, [PARAGRAPH])
    store.record_alerts("r", [article.id], [_match(article)], NOW)
    (claimed,) = store.claim_deliveries("A", ["webhook"], NOW, 60)
    assert claimed.attempts == 1 and claimed.key == delivery_key("r", article.id, "webhook")
    assert claimed.article_ids == (article.id,)
    # Held by A: nobody else gets it, even ignoring backoff, until the lease runs out.
    assert store.claim_deliveries("B", ["webhook"], NOW, 60, ignore_backoff=True) == []
    assert store.claim_deliveries("B", ["email"], NOW + timedelta(hours=1), 60) == []
    (stolen,) = store.claim_deliveries("B", ["webhook"], NOW + timedelta(seconds=61), 60)
    assert stolen.attempts == 2
    # A's late failure report is ignored: B holds it now.
    store.mark_failed(claimed.id, "A", "late", NOW + timedelta(hours=1))
    retry_at = NOW + timedelta(seconds=90)
    store.mark_failed(stolen.id, "B", "webhook answered 503", retry_at)
    (status,) = store.alerts()[0].deliveries
    assert (status.last_error, status.next_attempt_at) == ("webhook answered 503", retry_at)
    assert store.claim_deliveries("C", ["webhook"], NOW + timedelta(seconds=89), 60) == []
    assert store.claim_deliveries("C", ["webhook"], NOW, 60, ignore_backoff=True) != []
    store.mark_failed(stolen.id, "C", "gave up (permanent error): 404", None)
    assert store.delivery_counts() == {"pending": 0, "sent": 0, "given-up": 1}
    assert store.requeue_given_up(NOW) == 1
    (again,) = store.claim_deliveries("D", ["webhook"], NOW, 60)
    assert again.attempts == 1
    store.mark_sent(again.id, NOW)
    assert store.delivery_counts() == {"pending": 0, "sent": 1, "given-up": 0}
    assert store.claim_deliveries("E", ["webhook"], NOW, 60, ignore_backoff=True) == []


def test_a_digest_is_written_once_per_day_and_channel(store: Store) -> None:
    a, b = _stored(
        store,
        [
            PARAGRAPH,
            INDIA,
        ],
    )
    alerts, _ = store.record_alerts(
        "r", [a.id, b.id], [_match(a, digest=True), _match(b, digest=True)], NOW
    )
    assert [str(x.state) for x in alerts] == ["digest", "digest"]
    ids = [x.id for x in alerts]
    assert [i for i, _ in store.undigested("r")] == ids
    assert store.add_digest("r", "2026-11-21", ids, WEBHOOK, NOW) == 1
    assert store.add_digest("r", "2026-11-21", ids, WEBHOOK, NOW) == 0  # already in it
    assert store.undigested("r") == []
    (delivery,) = store.claim_deliveries("A", ["webhook"], NOW, 60)
    assert (delivery.kind, delivery.digest_day) == ("digest", "2026-11-21")
    assert delivery.article_ids == (a.id, b.id)


def _event_match(article: Article, channels: tuple[ChannelTarget, ...] = WEBHOOK) -> RuleMatch:
    """A `per: event` rule with update messages: every story's key is its event's."""
    return RuleMatch("r", article.id, "event-1", channels, update=True, update_message=True)


def test_an_alerted_events_later_stories_go_into_one_update_reply(store: Store) -> None:
    first, second, third = _stored(store, [PARAGRAPH, INDIA, BRICS])
    (alert,), _ = store.record_alerts("run", [first.id], [_event_match(first)], NOW)
    assert store.pending_updates("r") == []
    (alert_delivery,) = store.claim_deliveries("A", ["webhook"], NOW, 60)
    store.mark_sent(alert_delivery.id, NOW)
    later = [second, third]
    new, _ = store.record_alerts(
        "run", [a.id for a in later], [_event_match(a) for a in later], NOW
    )
    assert new == []  # no second alert for the event
    (pending,) = store.pending_updates("r")
    assert (pending.alert_id, pending.story_key) == (alert.id, "event-1")
    assert pending.article_ids == (second.id, third.id)
    assert pending.last_message_at == NOW  # the alert's own message
    assert store.add_updates(pending, WEBHOOK, NOW) == 1
    assert store.add_updates(pending, WEBHOOK, NOW) == 0  # another sender's already took them
    assert store.pending_updates("r") == []
    (update,) = store.claim_deliveries("A", ["webhook"], NOW, 60)
    assert update.kind == "update" and update.article_ids == (second.id, third.id)
    assert (update.head_id, update.replies_to) == (first.id, alert_delivery.key)
    [listed] = store.alerts(rule="r")
    assert [(u.article_id, u.in_message) for u in listed.updates] == [
        (second.id, True),
        (third.id, True),
    ]
    assert sorted(d.kind for d in listed.deliveries) == ["alert", "update"]


def test_updates_of_an_alert_that_was_not_sent_wait_for_nothing(store: Store) -> None:
    first, second = _stored(store, [PARAGRAPH, INDIA])
    # No channel configured: the alert is recorded only, so there is nothing to reply to.
    store.record_alerts("run", [first.id], [_event_match(first, channels=())], NOW)
    store.record_alerts("run", [second.id], [_event_match(second, channels=())], NOW)
    assert store.pending_updates("r") == []
    [listed] = store.alerts(rule="r")
    assert [(u.article_id, u.in_message) for u in listed.updates] == [(second.id, False)]


def test_update_messages_wait_for_the_rules_interval(store: Store) -> None:
    first, second, third = _stored(store, [PARAGRAPH, INDIA, BRICS])
    rule = AlertRule(name="r", all_of=("Q7747",), per="event", updates="digest", updates_every="1h")
    config = alert_config(Settings(webhook_url="http://127.0.0.1:9/h"))
    store.record_alerts("run", [first.id], [_event_match(first)], NOW)
    store.record_alerts("run", [second.id], [_event_match(second)], NOW)
    assert close_updates(store, [rule], config, NOW + timedelta(minutes=59)) == 0
    assert close_updates(store, [rule], config, NOW + timedelta(minutes=61)) == 1
    # The update is now the last message: the next waits an hour from it.
    store.record_alerts("run", [third.id], [_event_match(third)], NOW + timedelta(minutes=62))
    assert close_updates(store, [rule], config, NOW + timedelta(minutes=100)) == 0
    assert close_updates(store, [rule], config, NOW + timedelta(minutes=122)) == 1


def test_two_senders_claiming_at_once_never_share_a_delivery(store_config: StoreConfig) -> None:
    store = store_config.open()
    texts = [
        f"{PARAGRAPH} وهذا الخبر رقم {n} في سلسلة أخبار مختلفة عن {n * 7} موضوعا."
        for n in range(40)
    ]
    articles = _stored(store, texts)
    matches = [RuleMatch("r", a.id, a.id, WEBHOOK, 0.0, False) for a in articles]
    store.record_alerts("run", [a.id for a in articles], matches, NOW)
    assert store.delivery_counts()["pending"] == 40
    store.close()
    claimed: dict[str, list[int]] = {"A": [], "B": []}

    def sender(owner: str) -> None:
        # Each sender has its own connection, as two processes would.
        mine = store_config.open()
        try:
            while batch := mine.claim_deliveries(owner, ["webhook"], NOW, 60, limit=3):
                claimed[owner] += [d.id for d in batch]
        finally:
            mine.close()

    threads = [threading.Thread(target=sender, args=(owner,)) for owner in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(claimed["A"]) & set(claimed["B"])
    assert len(claimed["A"]) + len(claimed["B"]) == 40


def test_stored_articles_wait_for_elasticsearch_until_it_answers(store: Store) -> None:
    a, b, c = _stored(store, [PARAGRAPH, INDIA, BRICS])
    assert store.es_counts() == {"indexed": 0, "rejected": 0, "expired": 0, "pending": 3}
    assert [x.id for x in store.es_pending(10)] == [a.id, b.id, c.id]
    assert [x.id for x in store.es_pending(1)] == [a.id]
    store.es_mark([a.id], [(b.id, "mapper_parsing_exception: failed to parse [published_at]")])
    assert [x.id for x in store.es_pending(10)] == [c.id]
    assert store.es_counts() == {"indexed": 1, "rejected": 1, "expired": 0, "pending": 1}
    store.es_reset()  # a reindex: everything is sent again
    assert store.es_counts()["pending"] == 3
