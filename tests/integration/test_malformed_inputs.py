"""A thousand malformed inputs: each is stored or refused with a reason; none crashes a stage."""

from __future__ import annotations

import codecs
import ctypes
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_figures import FaultFigures

from connectors.files import discover, display_path
from enrich.dedup import store_stories
from newsmon.compose import StoreConfig, pipeline_config
from newsmon.prepare import prepare_files
from newsmon.settings import Settings
from newsmon.stages import batched

pytestmark = pytest.mark.integration

ARABIC = (
    "أجرى الرئيس الروسي فلاديمير بوتين اتصالا هاتفيا مع نظيره الصيني شي جين بينغ، وبحثا"
    " التعاون الاقتصادي وتنسيق المواقف في مجلس الأمن الدولي بشأن الأزمات الإقليمية."
)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def _random_bytes(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([".txt", ".html", ".json"]), rng.randbytes(rng.randint(1, 5000))


def _truncated_utf8(rng: random.Random) -> tuple[str, bytes]:
    data = (ARABIC * rng.randint(1, 20)).encode("utf-8")
    return ".txt", data[: rng.randrange(1, len(data))]


def _with_nuls(rng: random.Random) -> tuple[str, bytes]:
    text = list(ARABIC * 3)
    for _ in range(rng.randint(1, 50)):
        text.insert(rng.randrange(len(text)), "\x00")
    return ".txt", "".join(text).encode("utf-8")


def _bidi(rng: random.Random) -> tuple[str, bytes]:
    controls = "".join(rng.choice(BIDI) for _ in range(rng.randint(1, 3000)))
    text = controls if rng.random() < 0.5 else controls + ARABIC + controls
    return ".txt", text.encode("utf-8")


def _deep_html(rng: random.Random) -> tuple[str, bytes]:
    depth = rng.randint(100, 5000)
    tag = rng.choice(["div", "span", "table", "p"])
    return ".html", f"<html><body>{f'<{tag}>' * depth}{ARABIC}{f'</{tag}>' * depth}".encode()


def _deep_json(rng: random.Random) -> tuple[str, bytes]:
    depth = rng.randint(50, 20000)
    if rng.random() < 0.5:
        return ".json", ("[" * depth + "]" * depth).encode()
    return ".ndjson", ('{"text": "نص"}\n' + '{"a":' * depth + "1" + "}" * depth).encode()


def _odd_records(rng: random.Random) -> tuple[str, bytes]:
    odd = rng.choice(
        [
            {"text": 12345},
            {"text": ARABIC, "published_at": "the day after tomorrow"},
            {"html": "<p>" * 3},
            {"title": ARABIC},
            {"text": ARABIC, "url": "http://[::1"},
            {"text": ARABIC, "url": "http://127.0.0.1:99999/x"},
            {"text": "9" * 5000},
            [1, 2, 3],
            "just a string",
            {"text": ARABIC, "views": int("7" * 90)},
        ]
    )
    return ".json", json.dumps(odd, ensure_ascii=False).encode()


def _huge_line(rng: random.Random) -> tuple[str, bytes]:
    word = rng.choice(["ب", "x", "بوتين", "\u0640"])
    return ".txt", (word * rng.randint(20_000, 120_000)).encode("utf-8")


def _encodings(rng: random.Random) -> tuple[str, bytes]:
    text = ARABIC * rng.randint(1, 5)
    encoding = rng.choice(["utf-16", "utf-16-le", "utf-32", "cp1256", "iso-8859-6"])
    data = text.encode(encoding, errors="replace")
    if rng.random() < 0.5:
        data = data[: rng.randrange(1, len(data))]
    if rng.random() < 0.3:
        data = codecs.BOM_UTF8 + data
    return ".txt", data


def _almost_empty(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([".txt", ".html", ".json", ".ndjson"]), rng.choice(
        [
            b"",
            b" ",
            b"\n\n\t",
            codecs.BOM_UTF8,
            b"<html></html>",
            b"{}",
            b"[]",
            b"null",
            b"\xef\xbb",
        ]
    )


GENERATORS: list[Callable[[random.Random], tuple[str, bytes]]] = [
    _random_bytes,
    _truncated_utf8,
    _with_nuls,
    _bidi,
    _deep_html,
    _deep_json,
    _odd_records,
    _huge_line,
    _encodings,
    _almost_empty,
]


def test_a_thousand_malformed_inputs_are_stored_or_refused_never_crash(
    tmp_path: Path, fault_figures: FaultFigures
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rng = random.Random(19)
    for n in range(1000):
        suffix, data = GENERATORS[n % len(GENERATORS)](rng)
        (inbox / f"input-{n:04d}{suffix}").write_bytes(data)
    # Odd files beside them: a link loop, a dangling link, a pipe, a name that is not UTF-8.
    (inbox / "loop-a.txt").symlink_to(inbox / "loop-b.txt")
    (inbox / "loop-b.txt").symlink_to(inbox / "loop-a.txt")
    (inbox / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(inbox / "pipe.txt")
    with open(os.path.join(os.fsencode(inbox), b"name-\xff.txt"), "wb") as handle:
        handle.write(ARABIC.encode("utf-8"))

    config = pipeline_config(Settings(db=str(tmp_path / "store.db")))
    store = StoreConfig(str(tmp_path / "store.db")).open()
    found = discover([inbox])
    rejections = list(found.rejections)
    stored = 0
    refused = {r.source for r in rejections}
    read: set[str] = set()  # the sources of every article made
    try:
        for batch in batched(found.items, 200):
            prepared = prepare_files(batch, config.prepare)
            rejections += prepared.rejections
            refused |= {r.source for r in prepared.rejections}
            read |= {f.article.source for f in prepared.fingerprints}
            run_id = store.begin_run(["malformed"])
            stored += len(
                store_stories(
                    store, prepared.fingerprints, run_id, config.prepare.dedup, config.events
                ).new_ids
            )
    finally:
        store.close()

    crashes = [(r.source, r.stage, r.reason) for r in rejections if "internal error" in r.reason]
    inputs = sorted(display_path(name) for name in os.listdir(os.fsencode(inbox)))
    named = read | refused
    unaccounted = [name for name in inputs if not any(name in source for source in named)]
    fault_figures.record(
        "malformed inputs (one process, every stage)",
        tried=len(inputs),
        lost=len(unaccounted),  # neither an article nor a refusal names the file
        doubled=len(read & refused),  # made an article and was refused as well
        crashes=len(crashes),
    )
    assert unaccounted == [], unaccounted[:10]  # each file read or refused by name
    assert read & refused == set()
    assert crashes == []
    assert all(r.reason.strip() for r in rejections)
    by_stage = Counter(r.stage for r in rejections)
    # The link loop's two ends, the dangling link and the pipe are refused by name.
    assert by_stage["discover"] == 4
    print(f"1,005 inputs: {stored} stories stored, {len(rejections)} refused, by stage {by_stage}")
    assert stored > 0


def _without_root_file_access() -> None:
    """In the child, before exec: give up root's right to read any file, so that file modes
    apply (the suite runs as root in CI, where chmod 000 would block nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


def test_unreadable_files_and_folders_are_refused_by_name_and_the_rest_stored(
    tmp_path: Path, seeds: Path
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "locked-folder").mkdir(parents=True)
    for seed in sorted(seeds.glob("*.txt"))[:2]:
        (inbox / seed.name).write_bytes(seed.read_bytes())
    (inbox / "locked-folder" / "inside.txt").write_text(ARABIC, encoding="utf-8")
    (inbox / "locked.txt").write_text(ARABIC + " مقفل", encoding="utf-8")
    (inbox / "locked.txt").chmod(0)
    (inbox / "locked-folder").chmod(0)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "newsmon", "run", str(inbox)],
            env={**os.environ, "NEWSMON_DB": str(tmp_path / "store.db")},
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=_without_root_file_access if os.geteuid() == 0 else None,
        )
    finally:
        (inbox / "locked-folder").chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert "2 stored" in done.stdout and "2 rejected" in done.stdout, done.stdout
    assert "rejected: inbox/locked.txt: permission denied" in done.stderr.replace(
        str(tmp_path) + "/", ""
    ), done.stderr
    assert "rejected: inbox/locked-folder: cannot list folder: permission denied" in (
        done.stderr.replace(str(tmp_path) + "/", "")
    ), done.stderr
