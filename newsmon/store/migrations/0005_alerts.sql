-- Alerts. A newly stored article waits in alert_queue until the rules have been checked
-- against it, so a crash between storing and matching loses no alert.
CREATE TABLE alert_queue (
    article_id TEXT PRIMARY KEY REFERENCES articles (id)
) WITHOUT ROWID;

-- One row per rule and story (or article, for rules that alert on every copy).
-- state: queued (deliveries written), recorded (no channel configured),
-- throttled (inside the rule's throttle window), digest (waits for its day's digest).
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL,
    story_key  TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles (id),
    run_id     TEXT,
    matched_at TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('queued', 'recorded', 'throttled', 'digest')),
    UNIQUE (rule, story_key)
);
CREATE INDEX alerts_rule_time ON alerts (rule, matched_at);

-- The outbox: one message to one channel. key is unique and is the idempotency key the
-- receiver gets, so a resend after a crash between send and mark can be dropped there.
-- A sender claims rows by writing lease_owner/lease_until in one write transaction.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    rule            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('alert', 'digest')),
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
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

CREATE TABLE delivery_alerts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    alert_id    INTEGER NOT NULL REFERENCES alerts (id),
    PRIMARY KEY (delivery_id, alert_id)
) WITHOUT ROWID;
CREATE INDEX delivery_alerts_alert ON delivery_alerts (alert_id);

ALTER TABLE runs ADD COLUMN alerts INTEGER;
