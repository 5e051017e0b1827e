-- A known URL that came back with other text (an updated article, or a URL an outlet reused)
-- is stored as a new article; version_of is the id of the article first stored at that URL.
ALTER TABLE articles ADD COLUMN version_of TEXT;
CREATE INDEX articles_version_of ON articles (version_of);
