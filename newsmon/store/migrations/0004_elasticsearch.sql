-- What Elasticsearch has acknowledged: an article without a row here is still to be sent.
-- state: indexed (acknowledged) or rejected (Elasticsearch refused the document; reason kept).
CREATE TABLE es_sync (
    article_id TEXT PRIMARY KEY REFERENCES articles (id),
    state      TEXT NOT NULL CHECK (state IN ('indexed', 'rejected')),
    at         TEXT NOT NULL,
    reason     TEXT
) WITHOUT ROWID;
