import os
from pathlib import Path

import pytest

from connectors.files import discover, load_files, read_capped
from newsmon.errors import RejectedInput
from newsmon.records import ContentType


def test_discover_expands_folders_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "a.html").write_text("x")
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.ndjson").write_text("{}")
    out = discover([tmp_path])
    assert out.items == [str(tmp_path / n) for n in ("a.html", "b.txt", "sub/d.ndjson")]
    assert out.rejections == []


def test_discover_rejects_missing_and_unsupported_paths(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    out = discover([tmp_path / "nope", tmp_path / "report.pdf"])
    assert out.items == []
    reasons = {Path(r.source).name: r.reason for r in out.rejections}
    assert reasons["nope"] == "no such file or directory"
    assert reasons["report.pdf"].startswith("unsupported file type '.pdf'")


def test_discover_lists_a_file_named_twice_once(seeds: Path) -> None:
    seed = seeds / "000_82fb96e6e2e2803a.txt"
    assert discover([seed, seeds]).items.count(str(seed)) == 1


def test_a_50_mb_file_is_rejected_without_being_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: no 50 MB written to disk
    with pytest.raises(
        RejectedInput, match=r"file too large: 52,428,800 bytes \(limit 20,971,520\)"
    ):
        read_capped(str(big), 20 * 1024 * 1024)


def test_a_file_that_vanishes_after_discovery_is_rejected(tmp_path: Path, seeds: Path) -> None:
    keep = tmp_path / "keep.txt"
    gone = tmp_path / "gone.txt"
    for path in (keep, gone):
        path.write_bytes((seeds / "000_82fb96e6e2e2803a.txt").read_bytes())
    found = discover([tmp_path]).items
    os.remove(gone)
    out = load_files(found, max_bytes=1_000_000)
    assert [item.source for item in out.items] == [str(keep)]
    assert [(r.source, r.reason) for r in out.rejections] == [
        (str(gone), "file vanished before it could be read")
    ]


def test_records_file_yields_items_and_rejects_bad_lines(fixtures: Path) -> None:
    path = str(fixtures / "records" / "stories.ndjson")
    out = load_files([path], max_bytes=1_000_000)
    assert [(i.content_type, i.url) for i in out.items] == [
        (ContentType.TEXT, "https://arabic.example.com/news/putin-xi-call?utm_source=rss"),
        (ContentType.HTML, "https://arabic.example.com/lavrov-beijing"),
        (
            ContentType.TEXT,
            "http://www.arabic.example.com/news/putin-xi-call"
            "?utm_source=twitter&utm_medium=social#comments",
        ),
    ]
    assert out.items[0].title == "بوتين وشي يبحثان التعاون في اتصال هاتفي"
    reasons = {r.source: r.reason for r in out.rejections}
    assert reasons[f"{path}:2"] == "bad record: record has neither 'text' nor 'html'"
    assert reasons[f"{path}:3"].startswith("bad record: published_at:")
    assert reasons[f"{path}:4"].startswith("invalid JSON:")
    assert len(out.rejections) == 3


def test_json_array_file(tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text('[{"text": "نص أول"}, {"text": "نص ثان"}]', encoding="utf-8")
    out = load_files([str(path)], max_bytes=1000)
    assert [i.source for i in out.items] == [f"{path}#0", f"{path}#1"]
    assert [i.data.decode() for i in out.items] == ["نص أول", "نص ثان"]


def test_broken_json_file_is_rejected_whole(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"text": "x"', encoding="utf-8")
    out = load_files([str(path)], max_bytes=1000)
    assert out.items == []
    assert out.rejections[0].reason.startswith("invalid JSON:")


def test_json_beyond_the_limits_is_rejected_and_the_batch_goes_on(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    nested = tmp_path / "nested.json"  # under Python's own limit, over ours
    nested.write_text('[{"text": "نص", "x": ' + "[" * 200 + "]" * 200 + "}]", encoding="utf-8")
    huge = tmp_path / "huge-number.json"
    huge.write_text('{"text": "نص", "views": ' + "7" * 5000 + "}", encoding="utf-8")
    lines = tmp_path / "lines.ndjson"
    lines.write_text(
        '{"text": "نص أول"}\n' + "[" * 5000 + "]" * 5000 + '\n{"text": "نص ثان"}\n',
        encoding="utf-8",
    )
    good = tmp_path / "good.txt"
    good.write_text("نص سليم", encoding="utf-8")
    paths = [str(p) for p in (deep, nested, huge, lines, good)]
    out = load_files(paths, max_bytes=1_000_000)
    reasons = {r.source: r.reason for r in out.rejections}
    assert reasons == {
        str(deep): "JSON nested more than 64 levels deep",
        str(nested): "JSON nested more than 64 levels deep",
        str(huge): "JSON holds a number with 5,000 digits (limit 100)",
        f"{lines}:2": "JSON nested more than 64 levels deep",
    }
    assert [i.source for i in out.items] == [f"{lines}:1", f"{lines}:3", str(good)]


def test_a_record_file_without_records_is_refused_not_passed_over(tmp_path: Path) -> None:
    empty_list = tmp_path / "empty.json"
    empty_list.write_text("[]", encoding="utf-8")
    bom_only = tmp_path / "bom.ndjson"
    bom_only.write_bytes(b"\xef\xbb\xbf\n\n")
    out = load_files([str(empty_list), str(bom_only)], max_bytes=1_000)
    assert out.items == []
    assert {r.source: r.reason for r in out.rejections} == {
        str(empty_list): "no records in the file",
        str(bom_only): "no records in the file",
    }


def test_a_named_pipe_is_refused_by_name_and_never_waited_on(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("خبر", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it to read would block until a writer came
    out = discover([tmp_path])
    assert out.items == [str(tmp_path / "good.txt")]
    [(source, reason)] = [(r.source, r.reason) for r in out.rejections]
    assert (source, reason) == (
        str(tmp_path / "pipe.txt"),
        "not a regular file: a named pipe (FIFO)",
    )
    # One that appears after discovery is refused when opened, not read.
    with pytest.raises(RejectedInput, match="named pipe"):
        read_capped(str(tmp_path / "pipe.txt"), 1000)
    named = discover([tmp_path / "pipe.txt"])
    assert [r.reason for r in named.rejections] == ["not a regular file: a named pipe (FIFO)"]


def test_symlinks_out_of_the_folder_are_refused_unless_asked(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("كلمة السر", encoding="utf-8")
    (inbox / "story.txt").write_text("خبر", encoding="utf-8")
    (inbox / "inside.txt").symlink_to(inbox / "story.txt")
    (inbox / "outside.txt").symlink_to(elsewhere / "secret.txt")
    (inbox / "loop-a.txt").symlink_to(inbox / "loop-b.txt")
    (inbox / "loop-b.txt").symlink_to(inbox / "loop-a.txt")
    out = discover([inbox])
    assert out.items == [str(inbox / "inside.txt"), str(inbox / "story.txt")]
    reasons = {Path(r.source).name: r.reason for r in out.rejections}
    assert reasons["outside.txt"].startswith(
        f"a symlink out of {inbox} (to {elsewhere}/secret.txt)"
    )
    assert reasons["loop-a.txt"].startswith("cannot read: ")
    assert str(inbox / "outside.txt") in discover([inbox], follow_symlinks=True).items
    # A link the user names is read wherever it points.
    assert discover([inbox / "outside.txt"]).items == [str(inbox / "outside.txt")]


def test_a_file_name_that_is_not_utf8_is_kept_escaped(tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"bad_\xff\xfe.txt")
    with open(raw, "wb") as handle:
        handle.write("خبر عن الصين".encode())
    [found] = discover([tmp_path]).items
    [item] = load_files([found], 1000).items
    assert item.source == f"{tmp_path}/bad_\\xff\\xfe.txt"
    item.source.encode("utf-8")  # storable and printable as it is


def test_a_record_with_a_url_the_parser_refuses_is_rejected_by_line(tmp_path: Path) -> None:
    lines = tmp_path / "records.ndjson"
    lines.write_text(
        '{"text": "نص أول", "url": "http://[::1"}\n'
        '{"text": "نص ثان", "url": "http://127.0.0.1:99999/x"}\n'
        '{"text": "نص ثالث", "url": "javascript:alert(1)"}\n'
        '{"text": "نص رابع", "url": "https://news.example.com/a"}\n',
        encoding="utf-8",
    )
    out = load_files([str(lines)], max_bytes=1_000_000)
    reasons = {r.source: r.reason for r in out.rejections}
    assert reasons[f"{lines}:1"] == "bad record: url: Invalid IPv6 URL"
    assert reasons[f"{lines}:2"].startswith("bad record: url: Port out of range")
    assert reasons[f"{lines}:3"].startswith("bad record: url: not an http(s) URL")
    assert [i.url for i in out.items] == ["https://news.example.com/a"]
