-- When each story happened, for --since/--until and the dashboards: its publication time in
-- UTC, or the time it was first seen when the page gave no date (or a date after it was
-- read). Written by the store from Article.story_time(); existing rows are filled here. Kept
-- to the second, as 'YYYY-MM-DDTHH:MM:SS', so that both databases compare it as text.
ALTER TABLE articles ADD COLUMN story_time TEXT;
-- sqlite-only {
UPDATE articles SET story_time = min(
    strftime('%Y-%m-%dT%H:%M:%S', coalesce(published_at, ingested_at)),
    strftime('%Y-%m-%dT%H:%M:%S', ingested_at)
);
-- }
-- pg: UPDATE articles SET story_time = least(
-- pg:     to_char(CASE WHEN coalesce(published_at, ingested_at) ~ '([+-][0-9]{2}(:?[0-9]{2})?|Z)$'
-- pg:         THEN coalesce(published_at, ingested_at)::timestamptz AT TIME ZONE 'UTC'
-- pg:         ELSE coalesce(published_at, ingested_at)::timestamp END, 'YYYY-MM-DD"T"HH24:MI:SS'),
-- pg:     to_char(ingested_at::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
-- pg: );
CREATE INDEX articles_story_time ON articles (story_time);
