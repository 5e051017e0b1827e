-- Events: the independent reports of one happening. An event's id is its first story's id.
-- first_seen/last_seen are story times (published, else ingested); profile is the JSON list
-- [[term, weight], ...] of its stories' summed evidence, heaviest first, capped.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    stories    INTEGER NOT NULL,
    articles   INTEGER NOT NULL,
    profile    TEXT NOT NULL,
    indexed_seen TEXT NOT NULL
) WITHOUT ROWID;

-- How a new story finds its event: the heaviest entries of each event's profile, with the
-- event's last_seen as of their last rewrite (events.indexed_seen), so a lookup reads only
-- events recent enough to join.
CREATE TABLE event_keys (
    key       TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    event_id  TEXT NOT NULL REFERENCES events (id),
    PRIMARY KEY (key, last_seen, event_id)
) WITHOUT ROWID;
CREATE INDEX event_keys_event ON event_keys (event_id);

-- Why each article is in its event: the score against the event when it joined (NULL for the
-- story that opened it, and for copies, which follow their story) and the heaviest shared
-- evidence (JSON list of words and @entity ids).
ALTER TABLE articles ADD COLUMN event_id TEXT;
CREATE INDEX articles_event ON articles (event_id);
ALTER TABLE articles ADD COLUMN event_score REAL;
ALTER TABLE articles ADD COLUMN event_shared TEXT;

-- Later stories of an event a `per: event` rule already alerted on: listed with that alert
-- (`newsmon alerts`), not alerted again.
CREATE TABLE alert_updates (
    alert_id   INTEGER NOT NULL REFERENCES alerts (id),
    article_id TEXT NOT NULL REFERENCES articles (id),
    run_id     TEXT,
    matched_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, article_id)
) WITHOUT ROWID;
