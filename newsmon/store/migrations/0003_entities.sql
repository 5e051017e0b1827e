-- Entities a story names (gazetteer ids: Wikidata QIDs or nm:<slug>; NER ids: ner:<type>:<text>).
-- mentions: JSON [[start, end, text], ...] with offsets into articles.text.
CREATE TABLE article_entities (
    article_id TEXT NOT NULL REFERENCES articles (id),
    entity_id  TEXT NOT NULL,
    label      TEXT NOT NULL,
    type       TEXT NOT NULL,
    mentions   TEXT NOT NULL,
    PRIMARY KEY (article_id, entity_id)
) WITHOUT ROWID;
-- "Which stories name Q7747?" reads this index alone.
CREATE INDEX article_entities_by_entity ON article_entities (entity_id, article_id);
