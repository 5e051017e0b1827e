"""Alert rules: the shipped file, errors that name the rule, and what a rule matches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from connectors.feed_list import FeedSpec
from newsmon.alerts.breaking import is_breaking, most_outlets_within
from newsmon.alerts.check import AlertCheck
from newsmon.alerts.feed_silence import silence_matches
from newsmon.alerts.rules import (
    DEFAULT_RULES,
    AlertRule,
    load_alert_rules,
    matches,
    matching_rules,
)
from newsmon.compose import alert_config
from newsmon.outlet import outlet
from newsmon.records import (
    AlertRecord,
    AlertState,
    AlertTally,
    Article,
    DeliveryState,
    DeliveryStatus,
    EntityTag,
    EventSource,
    FeedState,
    Mention,
)
from newsmon.settings import Settings
from newsmon.yaml_model import ConfigFileError


def _article(text: str, ids: tuple[str, ...], lang: str = "ar", title: str = "") -> Article:
    tags = tuple(EntityTag(i, i, "person", (Mention(0, 1, "x"),)) for i in ids)
    return Article("a1", "src", title, text, "", lang, datetime.now(UTC), entities=tags)


def _rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "alerts.yml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_shipped_file_has_the_putin_xi_rule() -> None:
    rules = {rule.name: rule for rule in load_alert_rules(DEFAULT_RULES)}
    putin_xi = rules["putin-xi"]
    assert set(putin_xi.all_of) == {"Q7747", "Q15031"}
    assert putin_xi.new_story_only and putin_xi.digest is None
    assert putin_xi.channels == ("email", "webhook", "slack", "teams", "telegram")
    assert rules["russia-china-daily"].digest == "daily"
    assert rules["feed-silent"].feed_silent == 86400.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "rules:\n  - name: x\n    al_of: [Q1]\n",
            "rule 'x' al_of: Extra inputs are not permitted",
        ),
        ("rules:\n  - name: x\n", "rule 'x': needs all_of, any_of or query"),
        ("rules:\n  - name: x\n    all_of: Q1\n    throttle: soon\n", "'soon' is not a duration"),
        ("rules:\n  - name: x\n    all_of: Q1\n    channels: [sms]\n", "rule 'x' channels"),
        ("rules:\n  - name: Bad Name\n    all_of: Q1\n", "rule 'Bad Name' name"),
        ("rules:\n  - all_of: Q1\n", "rule #1 name: Field required"),
        (
            "rules:\n  - {name: x, all_of: Q1}\n  - {name: x, any_of: Q2}\n",
            "rule name 'x' is used twice",
        ),
        ("rules: [\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping with a `rules:` list"),
        ("rules:\n  - name: x\n    query: '؟!'\n", "has no words to match"),
        ("rules:\n  - name: x\n    query: 'بوتين OR'\n", "OR needs a term on each side"),
        ("rules:\n  - name: x\n    query: '«قوة سيبيريا'\n", "a quote is not closed"),
        (
            "rules:\n  - {name: x, all_of: Q1, updates: digest}\n",
            "rule 'x': updates: digest sends an event's later stories after its"
            " alert: it needs per: event",
        ),
        (
            "rules:\n  - {name: x, all_of: Q1, per: event, updates: daily}\n",
            "rule 'x' updates: Input should be 'list' or 'digest'",
        ),
        (
            "rules:\n  - {name: x, feed_silent: 24h, all_of: Q1, throttle: 1h}\n",
            "rule 'x': feed_silent watches feeds, not stories: it cannot take all_of, throttle",
        ),
        (
            "rules:\n  - {name: x, feed_silent: 24h, digest: daily}\n",
            "it cannot take digest",
        ),
        (
            "rules:\n  - {name: x, feed_silent: 0}\n",
            "rule 'x' feed_silent: Input should be greater",
        ),
        ("rules:\n  - {name: x, feed_silent: later}\n", "'later' is not a duration"),
        (
            "rules:\n  - {name: x, all_of: Q1, feeds: [rt]}\n",
            "feeds names the feeds a feed_silent rule watches: add feed_silent",
        ),
    ],
)
def test_bad_rules_name_the_file_rule_and_reason(tmp_path: Path, body: str, message: str) -> None:
    path = _rules(tmp_path, body)
    with pytest.raises(ConfigFileError) as error:
        load_alert_rules(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_a_feed_rule_fires_on_feeds_quiet_past_its_limit_and_never_on_stories(
    tmp_path: Path,
) -> None:
    path = _rules(
        tmp_path,
        "rules:\n  - {name: quiet, feed_silent: 24h, feeds: [rt, bbc], channels: webhook}\n"
        "  - {name: any-feed, feed_silent: 2d}\n  - {name: story, all_of: Q1}\n",
    )
    quiet, any_feed, story = load_alert_rules(path)
    assert (quiet.feed_silent, quiet.feeds, any_feed.feed_silent) == (
        86400.0,
        ("rt", "bbc"),
        172800.0,
    )
    assert [r.name for r in matching_rules([quiet, any_feed, story], _article("t", ("Q1",)))] == [
        "story"
    ]
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    specs = [
        FeedSpec(name=name, url=f"https://{name}.example/rss") for name in ("rt", "bbc", "cnn")
    ]
    states = {
        # Spoke 25 h ago; never spoke since its first poll 3 days ago; spoke an hour ago.
        "rt": FeedState(
            "rt", "u", first_poll_at=now - timedelta(days=5), last_new_at=now - timedelta(hours=25)
        ),
        "bbc": FeedState("bbc", "u", first_poll_at=now - timedelta(days=3)),
        "cnn": FeedState(
            "cnn", "u", first_poll_at=now - timedelta(days=9), last_new_at=now - timedelta(hours=1)
        ),
    }  # a feed never polled (no state) is not silent: it has not been tried
    config = alert_config(Settings(webhook_url="https://hooks.example/x"))
    found = silence_matches(
        [quiet, any_feed, story],
        [*specs, FeedSpec(name="new", url="https://n.example/rss")],
        states,
        config,
        now,
    )
    assert [(m.rule, m.feed, m.quiet_since) for m in found] == [
        ("quiet", "rt", now - timedelta(hours=25)),
        ("quiet", "bbc", now - timedelta(days=3)),
        ("any-feed", "bbc", now - timedelta(days=3)),
    ]
    assert [t.channel for t in found[0].channels] == ["webhook"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read rules: No such file"):
        load_alert_rules(tmp_path / "nope.yml")


def test_values_are_read_as_users_write_them(tmp_path: Path) -> None:
    path = _rules(
        tmp_path,
        "rules:\n"
        "  - {name: a, all_of: Q1, throttle: 30m, lang: ar, channels: webhook, email_to: x@y}\n"
        "  - {name: b, any_of: [Q1], throttle: 90}\n"
        "  - {name: c, any_of: [Q1], enabled: false}\n",
    )
    a, b = load_alert_rules(path)
    assert (a.all_of, a.throttle, a.lang, a.channels, a.email_to) == (
        ("Q1",),
        1800.0,
        ("ar",),
        ("webhook",),
        ("x@y",),
    )
    assert b.throttle == 90.0
    (c,) = load_alert_rules(
        _rules(
            tmp_path,
            "rules:\n  - {name: c, all_of: Q1, per: event, updates: digest, updates_every: 2h}\n",
        )
    )
    assert (c.per, c.updates, c.updates_every) == ("event", "digest", 7200.0)


def test_entity_conditions(tmp_path: Path) -> None:
    path = _rules(
        tmp_path,
        "rules:\n"
        "  - {name: both, all_of: [Q7747, Q15031]}\n"
        "  - {name: either, any_of: [Q7747, Q15031], none_of: [Q30]}\n",
    )
    both, either = load_alert_rules(path)
    assert matches(both, _article("t", ("Q7747", "Q15031", "Q159")))
    assert not matches(both, _article("t", ("Q7747",)))
    assert matches(either, _article("t", ("Q15031",)))
    assert not matches(either, _article("t", ("Q15031", "Q30")))  # none_of
    assert not matches(either, _article("t", ()))


def test_query_matches_any_spelling_and_clitic_forms(tmp_path: Path) -> None:
    path = _rules(
        tmp_path, "rules:\n  - {name: q, all_of: [Q7747], query: 'الغاز سيبيريا', lang: ar}\n"
    )
    (rule,) = load_alert_rules(path)
    text = "وقع الجانبان اتفاقا لمد خط أنابيب قوة سيبيريا ٢ لنقل الغاز"
    assert matches(rule, _article(text, ("Q7747",)))
    # وبالغاز: conjunction + preposition + article; the headline counts too.
    assert matches(rule, _article("وبالغاز", ("Q7747",), title="قوة سيبيريا"))
    assert not matches(rule, _article("خط أنابيب قوة سيبيريا", ("Q7747",)))  # no "gas"
    assert not matches(rule, _article(text, ("Q7747",), lang="en"))


def test_query_takes_or_and_phrases(tmp_path: Path) -> None:
    query = '«قوة سيبيريا» OR "خط أنابيب" الغاز OR النفط'
    rule_yaml = yaml.safe_dump({"rules": [{"name": "q", "all_of": ["Q7747"], "query": query}]})
    path = _rules(tmp_path, rule_yaml)
    (rule,) = load_alert_rules(path)
    assert matches(rule, _article("وقع الجانبان اتفاق قوة سيبيريا لنقل الغاز", ("Q7747",)))
    assert matches(rule, _article("مد خط أنابيب جديد للنفط", ("Q7747",)))
    assert not matches(rule, _article("سيبيريا قوة الغاز", ("Q7747",)))  # not the phrase
    assert not matches(rule, _article("قوة سيبيريا", ("Q7747",)))  # neither gas nor oil


@pytest.mark.parametrize(
    ("which", "announced"), [("all", ["a1", "a2", "a3"]), ("alerted", ["a2"]), ("off", [])]
)
def test_story_events_cover_all_new_stories_or_only_alerted_ones(
    which: str, announced: list[str]
) -> None:
    stories = [replace(_article("x", ()), id=i) for i in ("a1", "a2", "a3")]
    now = datetime.now(UTC)
    fired = AlertRecord(1, "putin-xi", "a2", "a2", "t", now, "run", AlertState.QUEUED)
    held = AlertRecord(2, "putin-xi", "a3", "a3", "t", now, "run", AlertState.THROTTLED)
    check = AlertCheck(checked=3, alerts=[fired, held], new_stories=stories)
    assert [story.id for story in check.to_announce(which)] == announced


def test_a_run_tally_counts_alerts_by_rule_and_state_and_deliveries_by_state() -> None:
    now = datetime.now(UTC)
    sent = DeliveryStatus(1, "webhook", "h", DeliveryState.SENT, 1, None, now, None)
    waiting = DeliveryStatus(2, "email", "e", DeliveryState.PENDING, 2, "451", None, now)
    tally = AlertTally()
    for n, (rule, state, deliveries) in enumerate(
        [
            ("putin-xi", AlertState.QUEUED, (sent, waiting)),
            ("putin-xi", AlertState.THROTTLED, ()),
            ("daily", AlertState.DIGEST, ()),
            ("putin-xi", AlertState.QUEUED, (sent,)),
        ]
    ):
        tally.add(AlertRecord(n, rule, f"a{n}", f"a{n}", "t", now, "run", state, deliveries))
    assert tally.total == 4
    assert tally.by_rule == {"putin-xi": {"queued": 2, "throttled": 1}, "daily": {"digest": 1}}
    assert tally.deliveries == {"sent": 2, "pending": 1}


def test_breaking_counts_distinct_outlets_within_the_window() -> None:
    t0 = datetime(2026, 11, 23, 8, tzinfo=UTC)

    def report(source: str, minutes: float, published: bool = True) -> EventSource:
        at = t0 + timedelta(minutes=minutes)
        return EventSource(source, at if published else None, at + timedelta(minutes=5))

    assert outlet("https://arabic.rt.com/world/1-x/") == outlet("http://rt.com/a") == "rt.com"
    assert outlet("/data/inbox/aawsat/2015-07-21.txt") == "/data/inbox/aawsat"
    reports = [
        report("https://arabic.rt.com/a", 0),
        report("https://www.rt.com/b", 10),  # the same outlet again
        report("https://aawsat.com/c", 130),
        report("https://alriyadh.com/d", 200),  # over two hours after the first two
        report("/inbox/alyaum/e.txt", 230, published=False),  # first seen at 235 min
    ]
    assert most_outlets_within(reports, 2 * 3600) == 3  # aawsat, alriyadh, alyaum
    assert most_outlets_within(reports[:4], 2 * 3600) == 2
    rule = AlertRule(name="b", all_of=("Q7747",), breaking={"sources": 3, "within": "2h"})
    assert rule.breaking is not None and rule.breaking.within == 7200
    assert is_breaking(rule, reports) and not is_breaking(rule, reports[:4])


def test_breaking_cannot_be_a_digest() -> None:
    with pytest.raises(ValidationError, match="cannot also be a daily digest"):
        AlertRule(
            name="b", all_of=("Q7747",), digest="daily", breaking={"sources": 2, "within": 60}
        )
    with pytest.raises(ValidationError):
        AlertRule(name="b", all_of=("Q7747",), breaking={"sources": 1, "within": 60})


def test_the_rules_file_is_parsed_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("rules:\n  - {name: one, all_of: [Q7747]}\n", encoding="utf-8")
    first = load_alert_rules(path)
    assert load_alert_rules(path) is first  # unchanged: the parsed rules are kept
    path.write_text("rules:\n  - {name: two, any_of: [Q15031, Q7747]}\n", encoding="utf-8")
    assert [rule.name for rule in load_alert_rules(path)] == ["two"]
    # Saved again at once with the same size: its times may not tell, its text does.
    path.write_text("rules:\n  - {name: owt, any_of: [Q15031, Q7747]}\n", encoding="utf-8")
    assert [rule.name for rule in load_alert_rules(path)] == ["owt"]
    path.write_text("rules: [", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="not valid YAML"):
        load_alert_rules(path)
    path.unlink()
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_alert_rules(path)
