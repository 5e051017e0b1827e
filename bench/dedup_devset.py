"""Generate the near-duplicate development set: real Arabic stories and their syndicated copies.

Usage: python bench/dedup_devset.py [--copies 10] [--seed 11] [--out FILE]

Base stories (each one gold story): the five seeds (cleaned), the CNN Arabic gold text, three
separate passages of the assabah interview, and the hard negatives in
tests/fixtures/dedup/hard_negatives.yml (pairs sharing a background paragraph or a template).
Each base story gets N copies edited the way outlets edit wire copy: a dateline or agency
prefix, a new headline, the last paragraphs cut, a paragraph moved, "read also"/share lines
appended, hamza/alef/yaa/teh-marbuta spellings, diacritics and tatweel, Eastern digits, a
sentence dropped, a few words changed. Output: NDJSON records {doc, story, edits, title, text}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import yaml

from enrich.boilerplate import clean_text, load_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

DATELINES = [
    "موسكو - (أ ف ب): ",
    "بكين - رويترز: ",
    "موسكو - سبوتنيك. ",
    "(د ب أ) - ",
    "بكين - شينخوا: ",
]
HEADLINES = [
    "عاجل: تطورات جديدة في العلاقات الروسية الصينية",
    "موسكو وبكين.. شراكة تتعمق",
    "ماذا قال الزعيمان؟",
    "تفاصيل المحادثات بين روسيا والصين",
]
TRAILERS = [
    ["اقرأ أيضا: الصين وروسيا توقعان اتفاقيات جديدة للطاقة", "شارك هذا المقال على فيسبوك"],
    ["اقرأ أيضا: قمة بريكس المقبلة تبحث توسيع العضوية"],
    ["تابعونا على تلغرام لمزيد من الأخبار", "جميع الحقوق محفوظة"],
]
SPELLING = [("أ", "ا"), ("إ", "ا"), ("ى", "ي"), ("ي", "ى"), ("ة", "ه"), ("ؤ", "ئ")]
DIACRITICS = ["\u064e", "\u064f", "\u0650", "\u0651", "\u0652"]
EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SWAPS = [("قال", "أوضح"), ("أكد", "شدد"), ("اليوم", "الثلاثاء"), ("الرئيس", "الزعيم")]


def base_stories() -> dict[str, tuple[str, list[str]]]:
    """Gold story → (title, paragraphs) from the seeds, the real pages and the hard negatives."""
    rules = load_rules()
    stories: dict[str, tuple[str, list[str]]] = {}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        title, text = clean_text(path.read_text(encoding="utf-8"), rules)
        stories[f"seed-{path.name[:3]}"] = (title, text.splitlines())
    cnn = (FIXTURES / "html" / "cnn_arabic.gold.txt").read_text(encoding="utf-8")
    stories["cnn-syria"] = ("معارضون يسيطرون على مخازن للصواريخ بريف دمشق", _paragraphs(cnn))
    interview = _paragraphs(
        (ROOT / "tests" / "fixtures" / "dedup" / "assabah.text.txt").read_text("utf-8")
    )
    third = len(interview) // 3
    for n in range(3):
        part = interview[n * third : (n + 1) * third]
        stories[f"assabah-part{n + 1}"] = (part[0][:80], part[1:])
    extra = yaml.safe_load((FIXTURES / "dedup" / "hard_negatives.yml").read_text("utf-8"))
    for name, entry in extra.items():
        stories[name] = (entry["title"], list(entry["paragraphs"]))
    return stories


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _respell(text: str, rng: random.Random) -> str:
    def change(match: re.Match[str]) -> str:
        word = match.group(0)
        if rng.random() < 0.3:
            for old, new in SPELLING:
                word = word.replace(old, new)
        if rng.random() < 0.1:
            cut = rng.randrange(1, len(word)) if len(word) > 1 else 1
            word = word[:cut] + ("ـ" if rng.random() < 0.5 else rng.choice(DIACRITICS)) + word[cut:]
        return word

    return re.sub(r"[\u0600-\u06FF]+", change, text)


def make_copy(paragraphs: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """One edited copy of a story and the names of the edits made."""
    paras = list(paragraphs)
    edits = rng.sample(
        ["dateline", "headline", "cut", "move", "trailer", "spelling", "digits", "drop", "words"],
        k=rng.randint(2, 4),
    )
    for edit in edits:
        if edit == "dateline":
            paras[0] = rng.choice(DATELINES) + paras[0]
        elif edit == "headline":
            paras.insert(0, rng.choice(HEADLINES))
        elif edit == "cut" and len(paras) > 3:
            keep = max(2, round(len(paras) * rng.uniform(0.5, 0.85)))
            paras = paras[:keep]
        elif edit == "move" and len(paras) > 2:
            moved = paras.pop(rng.randrange(1, len(paras)))
            paras.insert(rng.randrange(1, len(paras) + 1), moved)
        elif edit == "trailer":
            paras.extend(rng.choice(TRAILERS))
        elif edit == "spelling":
            paras = [_respell(p, rng) for p in paras]
        elif edit == "digits":
            paras = [p.translate(EASTERN) for p in paras]
        elif edit == "drop" and len(paras) > 2:
            index = rng.randrange(len(paras))
            sentences = re.split(r"(?<=[.،])\s+", paras[index])
            if len(sentences) > 1:
                sentences.pop(rng.randrange(len(sentences)))
                paras[index] = " ".join(sentences)
        elif edit == "words":
            for old, new in rng.sample(SWAPS, k=2):
                paras = [p.replace(old, new, 1) for p in paras]
    return paras, edits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=FIXTURES / "dedup" / "devset.ndjson")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    records = []
    for story, (title, paragraphs) in base_stories().items():
        records.append(
            {
                "doc": f"{story}/0",
                "story": story,
                "edits": [],
                "title": title,
                "text": "\n".join(paragraphs),
            }
        )
        for n in range(1, args.copies + 1):
            paras, edits = make_copy(paragraphs, rng)
            records.append(
                {
                    "doc": f"{story}/{n}",
                    "story": story,
                    "edits": edits,
                    "title": title,
                    "text": "\n".join(paras),
                }
            )
    rng.shuffle(records)  # arrival order: copies may come before the original
    with open(args.out, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    stories = len({r["story"] for r in records})
    print(f"{args.out}: {len(records)} documents, {stories} stories")


if __name__ == "__main__":
    main()
