-- A story whose Elasticsearch index was deleted by retention is 'expired': `es reindex`
-- does not send it again (that would restart its retention), and it is not pending. SQLite
-- cannot change a CHECK constraint in place, so es_sync is rebuilt with its rows (as 0010).
-- sqlite-only {
CREATE TABLE es_sync_before_0015 AS SELECT * FROM es_sync;
DROP TABLE es_sync;
CREATE TABLE es_sync (
    article_id TEXT PRIMARY KEY REFERENCES articles (id),
    state      TEXT NOT NULL CHECK (state IN ('indexed', 'rejected', 'expired')),
    at         TEXT NOT NULL,
    reason     TEXT
) WITHOUT ROWID;
INSERT INTO es_sync SELECT * FROM es_sync_before_0015;
DROP TABLE es_sync_before_0015;
-- }
-- pg: ALTER TABLE es_sync DROP CONSTRAINT es_sync_state_check;
-- pg: ALTER TABLE es_sync ADD CONSTRAINT es_sync_state_check
-- pg:     CHECK (state IN ('indexed', 'rejected', 'expired'));
