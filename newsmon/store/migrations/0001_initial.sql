-- Articles, where each came from, full-text index, runs and rejected inputs.
CREATE TABLE articles (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    url          TEXT,
    title        TEXT NOT NULL,
    text         TEXT NOT NULL,
    text_norm    TEXT NOT NULL,
    lang         TEXT NOT NULL,
    encoding     TEXT NOT NULL,
    published_at TEXT,
    ingested_at  TEXT NOT NULL,
    run_id       TEXT NOT NULL
);
CREATE INDEX articles_ingested_at ON articles (ingested_at);

-- Every source (path or URL) an article was seen at; the first is articles.source.
CREATE TABLE article_sources (
    article_id TEXT NOT NULL REFERENCES articles (id),
    source     TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (article_id, source)
) WITHOUT ROWID;

-- Search terms come from the analyzer (normalised words plus clitic-free forms).
-- sqlite-only {
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    id UNINDEXED,
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- }
-- PostgreSQL: the same terms in a tsvector of the 'simple' configuration (no stemming:
-- the analyzer has already made the terms), the headline weighted above the body.
-- pg: CREATE TABLE articles_fts (
-- pg:     id    TEXT PRIMARY KEY,
-- pg:     title TEXT NOT NULL,
-- pg:     body  TEXT NOT NULL,
-- pg:     terms tsvector GENERATED ALWAYS AS (
-- pg:         setweight(to_tsvector('simple', title), 'A') || to_tsvector('simple', body)
-- pg:     ) STORED
-- pg: ) WITHOUT ROWID;
-- pg: CREATE INDEX articles_fts_terms ON articles_fts USING gin (terms);

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    inputs      TEXT NOT NULL,
    status      TEXT NOT NULL,
    read        INTEGER NOT NULL DEFAULT 0,
    stored      INTEGER NOT NULL DEFAULT 0,
    known       INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    seconds     REAL
);

CREATE TABLE rejections (
    id     INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    source TEXT NOT NULL,
    stage  TEXT NOT NULL,
    reason TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX rejections_run ON rejections (run_id);
