-- Feeds: what each poll learnt (validators for conditional GET, the body's hash for servers
-- whose validators lie), the adaptive interval and the next poll, failures and counts.
CREATE TABLE feeds (
    name           TEXT PRIMARY KEY,
    url            TEXT NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    body_hash      TEXT,
    interval       REAL,
    next_poll_at   TEXT,
    first_poll_at  TEXT,
    last_poll_at   TEXT,
    last_status    TEXT,
    last_error     TEXT,
    failures       INTEGER NOT NULL DEFAULT 0,
    polls          INTEGER NOT NULL DEFAULT 0,
    entries_seen   INTEGER NOT NULL DEFAULT 0,
    stored         INTEGER NOT NULL DEFAULT 0,
    last_new_at    TEXT
) WITHOUT ROWID;

-- Every story page a feed listed, by canonical URL: written before the page is fetched, so
-- a crash or a failed fetch leaves it pending for the next poll, and a page listed by two
-- feeds (or twice with other tracking parameters) is fetched once.
CREATE TABLE feed_entries (
    url             TEXT PRIMARY KEY,
    link            TEXT NOT NULL,
    feed            TEXT NOT NULL,
    article_id      TEXT NOT NULL,
    title           TEXT,
    published_at    TEXT,
    author          TEXT,
    first_seen      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'refused')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT
) WITHOUT ROWID;
CREATE INDEX feed_entries_due ON feed_entries (state, next_attempt_at);

-- The byline of a story page (trafilatura), or of its feed entry.
ALTER TABLE articles ADD COLUMN author TEXT;
