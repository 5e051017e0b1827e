"""Optional CAMeL NER: offline import, batch prediction with a tiny model, merge with gazetteer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrich.entities import tag_articles, tagger_for
from enrich.ner import NerSpan, NerTagger, bio_spans, ensure_camel_catalogue, merge
from newsmon.records import Article, EntityTag, Mention

LABELS = ["B-LOC", "B-ORG", "B-PERS", "B-MISC", "I-LOC", "I-ORG", "I-PERS", "I-MISC", "O"]
# Words the tiny model labels: a person's first and last name, and a gazetteer name.
FIRST, LAST = "فلان", "علان"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", FIRST, LAST, "بوتين", "قال", "في", "."]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BERT token classifier with no hidden layers whose labels depend only on the word."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForTokenClassification, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-ner")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=4,
        num_hidden_layers=0,
        num_attention_heads=1,
        intermediate_size=4,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model = BertForTokenClassification(config)
    begin, inside, other = [1.0, -1.0, 0, 0], [0, 0, 1.0, -1.0], [-1.0, 1.0, 0, 0]
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        embeddings = model.bert.embeddings
        embeddings.LayerNorm.weight.fill_(1.0)
        embeddings.word_embeddings.weight[:] = torch.tensor(other)
        for word in (FIRST, "بوتين"):
            embeddings.word_embeddings.weight[VOCAB.index(word)] = torch.tensor(begin)
        embeddings.word_embeddings.weight[VOCAB.index(LAST)] = torch.tensor(inside)
        model.classifier.weight[LABELS.index("O")] = torch.tensor(other)
        model.classifier.weight[LABELS.index("B-PERS")] = torch.tensor(begin)
        model.classifier.weight[LABELS.index("I-PERS")] = torch.tensor(inside)
    model.save_pretrained(folder)
    BertTokenizer(str(folder / "vocab.txt"), do_lower_case=False).save_pretrained(folder)
    return folder


def test_camel_ner_imports_offline_with_the_bundled_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMELTOOLS_DATA", str(tmp_path / "no-catalogue-here"))
    ensure_camel_catalogue()
    bundled = Path(__import__("os").environ["CAMELTOOLS_DATA"])
    assert (bundled / "catalogue.json").is_file()
    import camel_tools.ner

    assert "B-PERS" in camel_tools.ner.NERecognizer.labels()


def test_bio_decoding() -> None:
    offsets = [(0, 3), (4, 7), (8, 11), (12, 15), (16, 19)]
    labels = ["B-PERS", "I-PERS", "O", "I-LOC", "B-MISC"]
    assert bio_spans(labels, offsets) == [NerSpan("person", 0, 7), NerSpan("place", 12, 15)]


def test_the_model_runs_in_one_batch_and_gazetteer_ids_win(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMELTOOLS_DATA", str(tiny_model / "none"))
    ner = NerTagger(tiny_model, batch_size=8)
    texts = [f"قال {FIRST} {LAST} في موسكو. قال بوتين.", "قال في.", f"{FIRST} قال."]
    spans = ner.spans(texts)
    assert [[texts[i][s.start : s.end] for s in found] for i, found in enumerate(spans)] == [
        [f"{FIRST} {LAST}", "بوتين"],
        [],
        [FIRST],
    ]
    now = datetime(2026, 11, 22, tzinfo=UTC)
    article = Article("a", "a.txt", "t", texts[0], "", "ar", now)
    (tagged,) = tag_articles([article], tagger_for(None), ner).items
    found = {(tag.id, tag.type, tuple(m.text for m in tag.mentions)) for tag in tagged.entities}
    assert found == {
        ("Q649", "place", ("موسكو",)),
        ("Q7747", "person", ("بوتين",)),  # the model tagged it too: the gazetteer id wins
        (f"ner:person:{FIRST} {LAST}", "person", (f"{FIRST} {LAST}",)),
    }


def test_merge_keeps_gazetteer_mentions_and_groups_repeated_names() -> None:
    text = "أحمد زار موسكو ثم أحمد عاد"
    gazetteer = (EntityTag("Q649", "موسكو", "place", (Mention(9, 14, "موسكو"),)),)
    spans = [NerSpan("person", 0, 4), NerSpan("place", 9, 14), NerSpan("person", 18, 22)]
    merged = merge(text, gazetteer, spans)
    assert merged[0] == gazetteer[0]
    (extra,) = merged[1:]
    assert extra.id == "ner:person:احمد"
    assert [m.start for m in extra.mentions] == [0, 18]


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a model directory"):
        NerTagger(tmp_path)
