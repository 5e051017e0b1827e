"""Language identification with py3langid's bundled model (offline)."""

from __future__ import annotations

import py3langid

UNDETERMINED = "und"
# Below this many characters the identifier's answer is a guess.
_MIN_CHARS = 20
# langid's cost grows with length; 1,500 characters of news prose decide the language.
_SAMPLE_CHARS = 1500


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or 'und' when the text is too short to tell."""
    sample = text[:_SAMPLE_CHARS]
    if len(sample.strip()) < _MIN_CHARS:
        return UNDETERMINED
    lang, _score = py3langid.classify(sample)
    return str(lang)
