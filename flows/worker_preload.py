"""What the fork server loads before it forks batch workers (flows/process_pool.py).

Imported once, in the fork server: every worker forked from it starts with the stages'
modules, py3langid's model, the packaged gazetteer's tagger and the event terms' word
weights in memory, instead of loading them (about a second) before its first batch.
"""

from __future__ import annotations

from importlib import import_module

from enrich.entities import tagger_for
from enrich.event_terms import term_zipf
from enrich.language import detect_language

# The modules of the tasks the workers run, and all they import.
for module in ("flows.ingest", "flows.poll"):
    import_module(module)
tagger_for(None)
term_zipf()  # the word weights of the event terms, read from their gzipped table
# py3langid loads its model on first use.
detect_language("التقى الرئيس الروسي نظيره الصيني في موسكو لبحث العلاقات بين البلدين")
