-- Update messages: a `per: event` rule with `updates: digest` sends an alerted event's later
-- stories batched, as replies to its alert. Such a delivery has kind 'update'; SQLite cannot
-- change a CHECK constraint in place, so deliveries is rebuilt with its rows and ids kept.
-- delivery_alerts' rows point at deliveries throughout: the check waits for the commit.
-- sqlite-only {
PRAGMA defer_foreign_keys = ON;
CREATE TABLE deliveries_before_0010 AS SELECT * FROM deliveries;
DROP TABLE deliveries;
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    rule            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'update')),
    target          TEXT NOT NULL,
    digest_day      TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'given-up')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    sent_at         TEXT,
    last_error      TEXT
);
INSERT INTO deliveries SELECT * FROM deliveries_before_0010;
DROP TABLE deliveries_before_0010;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
-- }
-- pg: ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check;
-- pg: ALTER TABLE deliveries ADD CONSTRAINT deliveries_kind_check
-- pg:     CHECK (kind IN ('alert', 'digest', 'update'));

-- What an update delivery carries: the alert it replies to is its delivery_alerts row; these
-- are the later stories in it. An update is sent once per channel.
CREATE TABLE delivery_updates (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    article_id  TEXT NOT NULL REFERENCES articles (id),
    PRIMARY KEY (delivery_id, article_id)
) WITHOUT ROWID;

-- A later story waiting for its update message (rules with `updates: digest`); NULL once
-- it is in one, and for rules that only list updates.
ALTER TABLE alert_updates ADD COLUMN pending INTEGER;
CREATE INDEX alert_updates_pending ON alert_updates (alert_id) WHERE pending = 1
