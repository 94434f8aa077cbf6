ALTER TABLE recordings DROP COLUMN stopped_at;
ALTER TABLE recordings DROP COLUMN label;
