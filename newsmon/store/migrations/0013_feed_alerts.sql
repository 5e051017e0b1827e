-- Feed alerts: a rule with `feed_silent: 24h` alerts once per silence of a feed (a feed and
-- the time it went quiet), not once per story. Its deliveries have kind 'feed-silent' and
-- point at their feed alert; SQLite cannot change a CHECK constraint in place, so deliveries
-- is rebuilt with its rows and ids kept (as in 0010).
CREATE TABLE feed_alerts (
    id          INTEGER PRIMARY KEY,
    rule        TEXT NOT NULL,
    feed        TEXT NOT NULL,
    url         TEXT NOT NULL,
    quiet_since TEXT NOT NULL,
    run_id      TEXT,
    matched_at  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'recorded')),
    UNIQUE (rule, feed, quiet_since)
);
CREATE INDEX feed_alerts_time ON feed_alerts (matched_at);

-- sqlite-only {
PRAGMA defer_foreign_keys = ON;
CREATE TABLE deliveries_before_0013 AS SELECT * FROM deliveries;
DROP TABLE deliveries;
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    rule            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'update', 'feed-silent')),
    target          TEXT NOT NULL,
    digest_day      TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'given-up')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    sent_at         TEXT,
    last_error      TEXT,
    feed_alert_id   INTEGER REFERENCES feed_alerts (id)
);
INSERT INTO deliveries (id, key, rule, channel, kind, target, digest_day, state, attempts,
    created_at, next_attempt_at, lease_owner, lease_until, sent_at, last_error)
    SELECT id, key, rule, channel, kind, target, digest_day, state, attempts,
    created_at, next_attempt_at, lease_owner, lease_until, sent_at, last_error
    FROM deliveries_before_0013;
DROP TABLE deliveries_before_0013;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
-- }
-- pg: ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check;
-- pg: ALTER TABLE deliveries ADD CONSTRAINT deliveries_kind_check
-- pg:     CHECK (kind IN ('alert', 'digest', 'update', 'feed-silent'));
-- pg: ALTER TABLE deliveries ADD COLUMN feed_alert_id BIGINT REFERENCES feed_alerts (id);
-- A feed alert's deliveries are looked up by it (listing, building each message); without
-- this every lookup would scan all deliveries, story alerts' included.
CREATE INDEX deliveries_feed_alert ON deliveries (feed_alert_id) WHERE feed_alert_id IS NOT NULL;
