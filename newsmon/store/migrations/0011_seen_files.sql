-- The drop folder's memory: each file a remembering ingestion read (stored, known or
-- refused), by path, with the size, mtime and content hash it had. A later pass skips a
-- file whose stat still matches, or whose bytes still hash the same.
CREATE TABLE seen_files (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256   TEXT NOT NULL,
    seen_at  TEXT NOT NULL
) WITHOUT ROWID;
