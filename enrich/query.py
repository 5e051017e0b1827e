"""Alert-rule queries: words, quoted phrases and OR, matched as Arabic-aware search matches.

`بوتين "طريق الحرير" OR «الحزام والطريق»` needs the word بوتين and one of the two phrases.
Terms side by side must all match; `OR` (in capitals) joins the terms on either side of it
into one alternative, as in Elasticsearch's and most search engines' query syntax. Each word
is normalised as stored text is (hamza forms, ى/ي, ة/ه, diacritics, case) and matches its
forms with and without proclitics (و، ف، ب، ل، ك، ال); a phrase matches those words in a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from enrich.arabic import clitic_variants, normalize_text, words

_TOKEN = re.compile(r'"([^"]*)"|«([^»]*)»|(\S+)')
_OPEN_QUOTES = ('"', "«")
OR = "OR"


class QueryError(ValueError):
    """A query that cannot be read, with the reason."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word, or a phrase of words in a row: each word as the set of forms it matches."""

    words: tuple[frozenset[str], ...]


# AND-ed clauses, each one a tuple of OR-ed terms.
Query = tuple[tuple[Term, ...], ...]


def _term(text: str) -> Term | None:
    forms = tuple(frozenset(clitic_variants(w)) for w in words(normalize_text(text)))
    return Term(forms) if forms else None


@lru_cache(maxsize=256)  # a rule's query is matched against every new story
def parse_query(query: str) -> Query:
    """The query's clauses; QueryError naming what is wrong (an open quote, a stray OR)."""
    clauses: list[list[Term]] = []
    joining = False
    for match in _TOKEN.finditer(query):
        phrase, guillemets, word = match.groups()
        if word == OR:
            if not clauses or joining:
                raise QueryError(f"query {query!r}: OR needs a term on each side")
            joining = True
            continue
        if word is not None and word.startswith(_OPEN_QUOTES):
            raise QueryError(f"query {query!r}: a quote is not closed")
        term = _term(word if word is not None else phrase if phrase is not None else guillemets)
        if term is None:  # punctuation only, or an empty phrase: nothing to match
            continue
        if joining:
            clauses[-1].append(term)
            joining = False
        else:
            clauses.append([term])
    if joining:
        raise QueryError(f"query {query!r}: OR needs a term on each side")
    return tuple(tuple(clause) for clause in clauses)


def _phrase_in(phrase: tuple[frozenset[str], ...], tokens: Sequence[str]) -> bool:
    first, rest = phrase[0], phrase[1:]
    for start in range(len(tokens) - len(phrase) + 1):
        if not first.isdisjoint(clitic_variants(tokens[start])) and all(
            not forms.isdisjoint(clitic_variants(tokens[start + 1 + i]))
            for i, forms in enumerate(rest)
        ):
            return True
    return False


def query_matches(query: Query, terms: frozenset[str], tokens: Callable[[], Sequence[str]]) -> bool:
    """Whether a text matches every clause: `terms` are its word forms (search terms),
    `tokens()` its normalised words in order (read only for a phrase)."""
    seen: list[Sequence[str]] = []

    def in_order() -> Sequence[str]:
        if not seen:
            seen.append(tokens())
        return seen[0]

    def found(term: Term) -> bool:
        if len(term.words) == 1:
            return not terms.isdisjoint(term.words[0])
        # Every word somewhere first (cheap), then in a row.
        return all(not terms.isdisjoint(w) for w in term.words) and _phrase_in(
            term.words, in_order()
        )

    return all(any(found(term) for term in clause) for clause in query)
