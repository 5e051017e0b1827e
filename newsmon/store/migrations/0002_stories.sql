-- Near-duplicate stories: each article's story (cluster) and the copy it matched.
ALTER TABLE articles ADD COLUMN cluster_id TEXT;
ALTER TABLE articles ADD COLUMN duplicate_of TEXT;
ALTER TABLE articles ADD COLUMN similarity REAL;
-- MinHash signature (uint32 values) and shingle count: a cheap first look at a candidate.
ALTER TABLE articles ADD COLUMN minhash BLOB;
ALTER TABLE articles ADD COLUMN shingle_count INTEGER;
-- Articles stored before dedup existed are each their own story until `newsmon dedup rebuild`.
UPDATE articles SET cluster_id = id WHERE cluster_id IS NULL;
CREATE INDEX articles_cluster ON articles (cluster_id);

-- MinHash-LSH band keys: documents sharing a key are near-duplicate candidates.
CREATE TABLE lsh_bands (
    band_key   INTEGER NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles (id),
    PRIMARY KEY (band_key, article_id)
) WITHOUT ROWID;

-- Settings the stored data depends on (the LSH band layout).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
