-- Dedup data in compact tables of their own, keyed by a small integer: a lookup reads a few
-- short rows instead of pages of article text, and each band key costs ~10 bytes, not ~40.
CREATE TABLE dedup_docs (
    doc           INTEGER PRIMARY KEY,
    article_id    TEXT NOT NULL UNIQUE REFERENCES articles (id),
    minhash       BLOB NOT NULL,
    shingle_count INTEGER NOT NULL
);
INSERT INTO dedup_docs (article_id, minhash, shingle_count)
    SELECT id, minhash, shingle_count FROM articles WHERE minhash IS NOT NULL ORDER BY rowid;

CREATE TABLE lsh_keys (
    band_key INTEGER NOT NULL,
    doc      INTEGER NOT NULL REFERENCES dedup_docs (doc),
    PRIMARY KEY (band_key, doc)
) WITHOUT ROWID;
INSERT INTO lsh_keys (band_key, doc)
    SELECT b.band_key, d.doc FROM lsh_bands b JOIN dedup_docs d ON d.article_id = b.article_id;

DROP TABLE lsh_bands;
-- Kept once, in dedup_docs.
ALTER TABLE articles DROP COLUMN minhash;
ALTER TABLE articles DROP COLUMN shingle_count;

-- Texts are now shingled up to their first 20,000 words. Keys stored under the old layout are
-- the same for every shorter text (nearly all news), so the old layout is renamed rather
-- than forcing a `newsmon dedup rebuild` on every store.
-- sqlite-only {
UPDATE meta
SET value = substr(value, 1, instr(value, ':')) || 'w20000:' || substr(value, instr(value, ':') + 1)
WHERE key = 'dedup_layout' AND value NOT LIKE '%:w%:%';
-- }
