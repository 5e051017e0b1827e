"""The `newsmon` command, invoked as a user would, against a real store file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from peers import newsmon, newsmon_process

pytestmark = pytest.mark.integration

REQUIRED_FIELDS = {
    "id",
    "source",
    "title",
    "text",
    "lang",
    "ingested_at",
    "cluster_id",
    "duplicate_of",
}


def test_run_export_search_rejected(inbox: Path, tmp_path: Path, store_location: str) -> None:
    db = store_location

    first = newsmon("run", str(inbox), str(tmp_path / "missing.txt"), db=db)
    assert first.returncode == 1, first.stderr
    # 5 seeds, 2 good records and a syndicated copy stored; known: the cp1256 copy of 001
    # and a record whose URL differs only by www., tracking parameters and fragment.
    assert "19 read, 8 stored, 2 already known, 10 rejected" in first.stdout
    rejected_lines = [ln for ln in first.stderr.splitlines() if ln.startswith("rejected: ")]
    assert len(rejected_lines) == 10
    assert f"rejected: {inbox / 'image-renamed.txt'}: binary file (PNG image), not text" in (
        rejected_lines
    )
    assert f"rejected: {tmp_path / 'missing.txt'}: no such file or directory" in rejected_lines
    # No channel configured: the putin-xi rule still fires, recorded and shown. Six new
    # stories name both leaders; seed 002 is a copy of a story already alerted on.
    assert "rule putin-xi: 6 alerts" in first.stdout
    assert first.stdout.count("recorded only: no channel configured") == 6
    assert "rule russia-china-daily: 7 matches kept for the daily digest" in first.stdout

    second = newsmon("run", str(inbox / "seeds"), db=db)
    assert second.returncode == 0, second.stderr
    assert "0 stored, 5 already known, 0 rejected" in second.stdout
    assert "nothing new" in second.stdout

    # A later run, with the store opened afresh, finds the story through its band keys.
    later = tmp_path / "later"
    later.mkdir()
    seed_004 = (inbox / "seeds" / "004_195d63a88f2e261d.txt").read_text("utf-8")
    (later / "republished-004.txt").write_text(
        "Sputnik\n" + seed_004.replace("أجرى الرئيس الصيني", "بكين (شينخوا) - أجرى الرئيس الصيني"),
        encoding="utf-8",
    )
    third = newsmon("run", str(later), db=db)
    assert third.returncode == 0 and "1 stored" in third.stdout, third.stderr
    assert "alerts putin-xi" not in third.stdout  # a republished copy: no second alert
    alerts = [json.loads(x) for x in newsmon("alerts", "--json", db=db).stdout.splitlines()]
    putin_xi = [a for a in alerts if a["rule"] == "putin-xi"]
    assert len(putin_xi) == 6 and {a["state"] for a in putin_xi} == {"recorded"}

    exported = newsmon("export", db=db)
    assert exported.returncode == 0
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 9
    for record in records:
        assert record.keys() >= REQUIRED_FIELDS
        assert record["text"] and record["title"]
    by_name = {Path(r["source"]).name: r for r in records}
    seed = by_name["000_82fb96e6e2e2803a.txt"]
    assert seed["lang"] == "ar"
    assert seed["title"] == "بكين وموسكو تؤكدان تعاونهما المشترك لمنع تسييس أزمة كورونا"
    assert "اترك رد" not in "".join(r["text"] for r in records)
    copy = by_name["syndicated-002.txt"]
    original = by_name["002_78f173c836337b59.txt"]
    # The inbox's own files are read before its seeds/ folder: the copy is seen first.
    assert (copy["cluster_id"], copy["duplicate_of"]) == (copy["id"], None)
    assert (original["cluster_id"], original["duplicate_of"]) == (copy["id"], copy["id"])
    alerted = {a["article_id"] for a in putin_xi}
    assert copy["id"] in alerted and original["id"] not in alerted
    republished, seed4 = by_name["republished-004.txt"], by_name["004_195d63a88f2e261d.txt"]
    assert (republished["cluster_id"], republished["duplicate_of"]) == (seed4["id"], seed4["id"])
    assert republished["similarity"] >= 0.9
    # Same story in, same id out: export is stable across runs.
    assert newsmon("export", db=db).stdout == exported.stdout

    # Entities: canonical ids with offsets into the exported text.
    ushakov = next(
        e for e in by_name["003_e1704f5e1c1310a5.txt"]["entities"] if e["id"] == "nm:yuri-ushakov"
    )
    assert ushakov["type"] == "person" and ushakov["label"] == "يوري أوشاكوف"
    text_003 = by_name["003_e1704f5e1c1310a5.txt"]["text"]
    for mention in ushakov["mentions"]:
        assert text_003[mention["start"] : mention["end"]] == mention["text"]
    both = newsmon("search", "--entity", "Q7747", "-e", "Q15031", "--json", db=db)
    names = sorted(Path(json.loads(line)["source"]).name for line in both.stdout.splitlines())
    # Every stored story naming both leaders: the seeds (001 stored from its cp1256 copy),
    # the two copies, and the record about their phone call; not the other two records.
    assert names == [
        "000_82fb96e6e2e2803a.txt",
        "002_78f173c836337b59.txt",
        "003_e1704f5e1c1310a5.txt",
        "004_195d63a88f2e261d.txt",
        "copy-of-001.txt",
        "putin-xi-call?utm_source=rss",
        "republished-004.txt",
        "syndicated-002.txt",
    ]
    hong_kong = newsmon("search", "الصين", "--entity", "Q8646", "--json", db=db)
    hk_names = sorted(Path(json.loads(x)["source"]).name for x in hong_kong.stdout.splitlines())
    assert hk_names == ["004_195d63a88f2e261d.txt", "republished-004.txt"]
    assert newsmon("search", db=db).returncode == 2  # neither a query nor an entity

    found = newsmon("search", "أوشاكوف", "--json", db=db)  # written اوشاكوف-less: hamza variant
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert [Path(h["source"]).name for h in hits] == ["003_e1704f5e1c1310a5.txt"]
    assert hits[0]["event_id"] == by_name["003_e1704f5e1c1310a5.txt"]["event_id"] is not None
    assert newsmon("search", "اوشاكوف", db=db).stdout.count("003_e1704f5e1c1310a5.txt") == 1

    stories = newsmon("stories", "--min-copies", "2", "--json", db=db)
    story, story4 = [json.loads(line) for line in stories.stdout.splitlines()]
    assert story4["cluster_id"] == seed4["id"]
    assert story["cluster_id"] == copy["id"]
    assert [Path(s).name for s in story["sources"]] == [
        "syndicated-002.txt",
        "002_78f173c836337b59.txt",
    ]
    assert "2 copies" in newsmon("stories", db=db).stdout
    rebuilt = newsmon("dedup", "rebuild", db=db)
    assert rebuilt.returncode == 0 and "rebuilt: 9 articles in 7 stories" in rebuilt.stdout
    assert newsmon("stories", "--min-copies", "2", "--json", db=db).stdout == stories.stdout

    listed = newsmon("rejected", "--all", db=db)
    assert listed.returncode == 0
    assert len(listed.stdout.splitlines()) == 10
    quiet = newsmon("rejected", db=db)  # the last run rejected nothing, and says so
    assert quiet.stdout == "" and quiet.stderr.startswith("no rejections in run ")
    as_json = [
        json.loads(x) for x in newsmon("rejected", "--all", "--json", db=db).stdout.split("\n") if x
    ]
    assert len(as_json) == 10
    assert {r["stage"] for r in as_json} >= {"decode"}
    assert all(r.keys() == {"run_id", "source", "stage", "reason", "at"} for r in as_json)
    assert {Path(r["source"]).name for r in as_json} >= {"image-renamed.txt", "missing.txt"}


def test_an_empty_store_says_nothing_was_found_and_listings_speak_json(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    version = newsmon("--version", db=db)
    assert version.returncode == 0 and version.stdout.startswith("newsmon 0.")
    for command, said in (
        (["export"], "no stories stored"),
        (["stories"], "no stories with 1 or more copies"),
        (["rejected"], "no rejections (no run yet)"),
        (["rejected", "--all"], "no rejections in any run"),
        (["alerts"], "no alerts"),
        (["events"], "no events"),
        (["search", "بوتين"], "no match"),
    ):
        result = newsmon(*command, db=db)
        assert result.returncode == 0, (command, result.stderr)
        assert (result.stdout, result.stderr.splitlines()[0]) == ("", said), command
    assert json.loads(newsmon("es", "status", "--json", db=db).stdout) == {
        "expired": 0,
        "indexed": 0,
        "pending": 0,
        "rejected": 0,
    }
    rules = [
        json.loads(x) for x in newsmon("alerts", "rules", "--json", db=db).stdout.split("\n") if x
    ]
    putin_xi = next(r for r in rules if r["name"] == "putin-xi")
    assert putin_xi["all_of"] == ["Q7747", "Q15031"]
    assert putin_xi["entity_labels"] == {"Q7747": "Vladimir Putin", "Q15031": "Xi Jinping"}
    assert putin_xi["sends_to"]["email"].startswith("not configured")


def test_the_run_summary_as_json(seeds: Path, tmp_path: Path) -> None:
    first = newsmon(
        "run", "--json", str(seeds), str(tmp_path / "missing.txt"), db=tmp_path / "s.db"
    )
    assert first.returncode == 1, first.stderr
    [line] = first.stdout.splitlines()  # one object, no other output on stdout
    summary = json.loads(line)
    assert (summary["read"], summary["stored"], summary["status"]) == (5, 5, "some-rejected")
    assert summary["rejected"] == [
        {
            "source": str(tmp_path / "missing.txt"),
            "stage": "discover",
            "reason": "no such file or directory",
        }
    ]
    assert summary["alerts"]["by_rule"]["putin-xi"] == {"recorded": 5}
    assert {a["rule"] for a in summary["alerts"]["first"]} >= {"putin-xi"}
    stages = {"extract", "store", "check-alerts", "pace-story-events"}
    assert {t["stage"] for t in summary["timings"]} >= stages
    again = json.loads(newsmon("run", "--json", str(seeds), db=tmp_path / "s.db").stdout)
    assert (again["stored"], again["already_known"], again["status"]) == (0, 5, "ok")


def test_listings_take_time_outlet_and_language_filters(seeds: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert newsmon("run", str(seeds), db=db).returncode == 0

    def lines(*args: str) -> list[dict[str, object]]:
        result = newsmon(*args, db=db)
        assert result.returncode == 0, (args, result.stderr)
        return [json.loads(x) for x in result.stdout.splitlines()]

    one = str(seeds / "001_c7913647ea205634.txt")
    assert [r["source"] for r in lines("export", "--source", one)] == [one]
    assert len(lines("export", "--since", "1h", "--lang", "ar")) == 5
    assert len(lines("stories", "--json", "--source", str(seeds) + "/")) == 5
    alerted = lines("alerts", "--json", "--rule", "putin-xi", "--since", "2026-01-01")
    assert len(alerted) == 5
    assert lines("alerts", "--json", "--since", "2026-01-01", "--lang", "en") == []
    for args, said in (
        (["export", "--lang", "en"], "no stories stored in en"),
        (["search", "بوتين", "--until", "2020-01-01"], "no match until 2020-01-01 23:59:59Z"),
        (["stories", "--source", "rt.com"], "no stories with 1 or more copies at rt.com"),
    ):
        result = newsmon(*args, db=db)
        assert (result.returncode, result.stdout) == (0, ""), args
        assert result.stderr.splitlines()[0] == said, args
    bad = newsmon("export", "--since", "yesterday", db=db)
    assert bad.returncode == 2
    assert "Invalid value for '--since': 'yesterday' is not a time" in bad.stderr


def test_help_texts(tmp_path: Path) -> None:
    commands = ([], ["run"], ["export"], ["search"], ["rejected"], ["stories"], ["dedup"])
    more = (["entities"], ["entities", "tag"], ["entities", "retag"], ["es"], ["es", "sync"])
    more += (["events"], ["events", "show"], ["events", "rebuild"])
    alerts = (["alerts"], ["alerts", "retry"], ["alerts", "rules"], ["poll"], ["feeds"], ["serve"])
    db = tmp_path / "unused.db"
    for command in (
        *commands,
        *more,
        *alerts,
        ["es", "reindex"],
        ["es", "setup"],
        ["es", "status"],
    ):
        result = newsmon(*command, "--help", db=db)
        assert result.returncode == 0, command
        assert "Usage: " in result.stdout
    assert not db.exists()
    # One real process: the module entry point starts and prints the same help.
    run_help = newsmon_process("run", "--help", db=db).stdout
    assert "Exit status" in run_help and "some inputs were rejected" in run_help


def test_could_not_run_exits_2(tmp_path: Path, seeds: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = newsmon("run", str(seeds), db=blocker / "sub" / "store.db")
    assert result.returncode == 2
    assert "cannot create store" in result.stderr

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    result = newsmon("export", db=junk)
    assert result.returncode == 2 and "cannot open store" in result.stderr

    result = newsmon("run", "--config", str(tmp_path / "nope.toml"), str(seeds), db=junk)
    assert result.returncode == 2 and "config file not found" in result.stderr


def test_changed_dedup_settings_stop_the_run_without_retrying(
    tmp_path: Path, seeds: Path, seeded_store: Path
) -> None:
    db = seeded_store
    other = tmp_path / "more"
    other.mkdir()
    (other / "story.txt").write_text((seeds / "003_e1704f5e1c1310a5.txt").read_text("utf-8")[:900])
    env_db = {"NEWSMON_DEDUP_LSH_THRESHOLD": "0.5"}
    result = newsmon("run", str(other), db=db, env=env_db)
    assert result.returncode == 2
    assert "dedup settings changed" in result.stderr and "newsmon dedup rebuild" in result.stderr
    # Prefect logs this after retrying; a store unusable as configured is not retried at all.
    assert "Retries are exhausted" not in result.stderr
    assert newsmon("dedup", "rebuild", db=db, env=env_db).returncode == 0
    assert newsmon("run", str(other), db=db, env=env_db).returncode == 0


def test_entities_tag_and_retag(tmp_path: Path, seeds: Path, store_location: str) -> None:
    tagged = newsmon("entities", "tag", "قال الرئيس شي لبوتين إن أي شي ممكن", db=tmp_path / "x.db")
    assert tagged.returncode == 0, tagged.stderr
    found = [json.loads(line) for line in tagged.stdout.splitlines()]
    assert [(e["id"], [m["text"] for m in e["mentions"]]) for e in found] == [
        ("Q15031", ["شي"]),
        ("Q7747", ["بوتين"]),
    ]

    db = store_location
    assert newsmon("run", str(seeds), db=db).returncode == 0
    # A gazetteer of one entry: re-tagging replaces what the packaged gazetteer found.
    gazetteer = tmp_path / "gazetteer.yml"
    gazetteer.write_text(
        "entities:\n- id: nm:kremlin\n  type: org\n  label: {ar: الكرملين, en: Kremlin}\n",
        encoding="utf-8",
    )
    env = {"NEWSMON_GAZETTEER": str(gazetteer)}
    retag = newsmon("entities", "retag", db=db, env=env)
    assert retag.returncode == 0 and "re-tagged: 5 articles" in retag.stdout, retag.stderr
    records = [json.loads(x) for x in newsmon("export", db=db).stdout.splitlines()]
    assert {e["id"] for r in records for e in r["entities"]} == {"nm:kremlin"}

    gazetteer.write_text("entities:\n- id: Putin\n  type: person\n", encoding="utf-8")
    bad = newsmon("run", str(seeds), db=db, env=env)
    assert bad.returncode == 2
    assert "gazetteer.yml: bad id 'Putin'" in bad.stderr


def test_events_list_show_and_rebuild(
    tmp_path: Path, fixtures: Path, seeds: Path, store_location: str
) -> None:
    db = store_location
    inbox = tmp_path / "inbox"
    shutil.copytree(fixtures / "events" / "putin-xi-call", inbox / "call")
    shutil.copytree(seeds, inbox / "seeds")
    assert newsmon("run", str(inbox), db=db).returncode == 0

    listed = [json.loads(line) for line in newsmon("events", "--json", db=db).stdout.splitlines()]
    # The call's ten write-ups and seed 004, the call's own report (which holds all of
    # write-up 01, so dedup makes it a copy of that story), are one event; the other four
    # seeds report four other happenings.
    assert sorted(e["stories"] for e in listed) == [1, 1, 1, 1, 10]
    call = next(e for e in listed if e["stories"] == 10)
    assert call["articles"] == call["sources"] == 11 and call["stories_last_24h"] == 10
    assert call["first_seen"] <= call["last_seen"]
    text = newsmon("events", db=db).stdout
    assert f"{call['event_id']}  10 stories, 11 articles, 11 sources" in text

    shown = newsmon("events", "show", call["event_id"], db=db)
    lines = shown.stdout.splitlines()
    assert lines[0] == f"{call['event_id']}  opened"
    joined = [ln for ln in lines if " sharing " in ln]
    assert len(joined) == 9 and sum(" copy of " in ln for ln in lines) == 1
    members = [
        json.loads(ln)
        for ln in newsmon("events", "show", call["event_id"], "--json", db=db).stdout.splitlines()
    ]
    assert [m["event_score"] is None for m in members].count(True) == 2  # opener and copy
    missing = newsmon("events", "show", "no-such-event", db=db)
    assert missing.returncode == 2 and "no-such-event: no such event" in missing.stderr

    rebuilt = newsmon("events", "rebuild", db=db)
    assert rebuilt.returncode == 0 and "rebuilt: 15 articles in 5 events" in rebuilt.stdout
    again = [json.loads(line) for line in newsmon("events", "--json", db=db).stdout.splitlines()]
    assert sorted(e["event_id"] for e in again) == sorted(e["event_id"] for e in listed)

    exported = [json.loads(line) for line in newsmon("export", db=db).stdout.splitlines()]
    assert {r["event_id"] for r in exported} == {e["event_id"] for e in listed}


def test_alert_rules_are_checked_before_the_run(tmp_path: Path, seeds: Path) -> None:
    shown = newsmon("alerts", "rules", db=tmp_path / "x.db")
    assert shown.returncode == 0, shown.stderr
    assert "all_of: Q7747 (Vladimir Putin), Q15031 (Xi Jinping)" in shown.stdout
    assert "webhook: not configured (NEWSMON_WEBHOOK_URL)" in shown.stdout

    rules = tmp_path / "alerts.yml"
    rules.write_text("rules:\n  - name: typo\n    all_of: [Q7747]\n    chanels: [email]\n")
    env = {"NEWSMON_ALERT_RULES": str(rules)}
    bad = newsmon("run", str(seeds), db=tmp_path / "store.db", env=env)
    assert bad.returncode == 2
    assert f"bad alert rules: {rules}: rule 'typo' chanels: Extra inputs" in bad.stderr
    assert not (tmp_path / "store.db").exists()  # stopped before anything was stored

    rules.write_text("rules:\n  - name: unknown\n    all_of: [Q999999999]\n")
    unknown = newsmon("alerts", "rules", db=tmp_path / "x.db", env=env)
    assert unknown.returncode == 1
    assert "Q999999999 (not in the gazetteer)" in unknown.stdout


def test_flashes_and_reused_urls_are_stored_not_lost(
    fixtures: Path, seeds: Path, tmp_path: Path
) -> None:
    db = tmp_path / "newsmon.db"

    def record(newsid: int, seed: str) -> str:
        text = (seeds / seed).read_text("utf-8")
        url = f"http://www.spa.gov.sa/viewstory.php?lang=ar&newsid={newsid}"
        return json.dumps({"url": url, "text": text}, ensure_ascii=False)

    # One-sentence wire flashes are stored (title = text = the sentence); the one naming both
    # leaders fires putin-xi. An outlet's query-id URLs (Saudi Press Agency) stay two articles.
    spa = tmp_path / "spa-1.ndjson"
    spa.write_text(
        record(2001, "000_82fb96e6e2e2803a.txt") + "\n" + record(2002, "001_c7913647ea205634.txt"),
        encoding="utf-8",
    )
    first = newsmon("run", str(fixtures / "flash"), str(spa), db=db)
    assert first.returncode == 0, first.stderr
    assert "4 read, 4 stored, 0 already known, 0 rejected" in first.stdout
    assert "rule putin-xi: 3 alerts" in first.stdout
    assert "Xi and Putin signed a joint statement." in first.stdout

    # The same URL coming back with another story is a new version of it, stored once.
    reused = tmp_path / "spa-2.ndjson"
    reused.write_text(record(2001, "003_e1704f5e1c1310a5.txt") + "\n", encoding="utf-8")
    again = newsmon("run", str(reused), db=db)
    assert "1 read, 1 stored, 0 already known" in again.stdout, again.stdout
    assert "1 read, 0 stored, 1 already known" in newsmon("run", str(reused), db=db).stdout
    exported = [json.loads(x) for x in newsmon("export", db=db).stdout.splitlines()]
    at_2001 = {r["version_of"]: r for r in exported if (r["url"] or "").endswith("newsid=2001")}
    assert len(at_2001) == 2
    base = at_2001[None]
    version = at_2001[base["id"]]
    assert version["title"].startswith("سنقاوم: أعلام بوتين")  # seed 003's headline
    assert version["id"] != base["id"] and version["text"] != base["text"]


def test_hostile_files_in_a_drop_folder_are_refused_by_name_and_the_rest_stored(
    tmp_path: Path, seeds: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    seed = sorted(seeds.glob("*.txt"))[0]
    shutil.copy(seed, inbox / "good.txt")
    odd_name = os.path.join(os.fsencode(inbox), b"bad_\xff\xfe.txt")
    with open(odd_name, "wb") as handle:
        handle.write((sorted(seeds.glob("*.txt"))[1]).read_bytes())
    os.mkfifo(inbox / "pipe.txt")
    (inbox / "status.txt").symlink_to("/proc/self/status")
    (inbox / "invisible.txt").write_text("\u202e\u2066\u200e" * 200, encoding="utf-8")
    db = tmp_path / "store.db"
    run = newsmon("run", str(inbox), db=db)
    assert run.returncode == 1, run.stdout + run.stderr  # some rejected, the run finished
    assert "2 stored" in run.stdout
    rejected = newsmon("rejected", db=db).stdout.splitlines()
    reasons = {Path(line.split("\t")[2]).name: line.split("\t")[3] for line in rejected}
    assert reasons["pipe.txt"] == "not a regular file: a named pipe (FIFO)"
    assert reasons["status.txt"].startswith(f"a symlink out of {inbox} (to /proc/")
    assert reasons["invisible.txt"].startswith("no visible text")
    exported = [json.loads(line) for line in newsmon("export", db=db).stdout.splitlines()]
    assert sorted(Path(r["source"]).name for r in exported) == ["bad_\\xff\\xfe.txt", "good.txt"]
