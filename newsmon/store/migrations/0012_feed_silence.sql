-- When a feed's current silence was announced: `newsmon.feed.silent` goes out once per
-- silence, not on every poll while it lasts.
ALTER TABLE feeds ADD COLUMN silent_noted_at TEXT;
