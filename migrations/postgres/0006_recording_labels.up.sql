-- A recording's label (the caller's name for it, metadata only: the file is named from our ids)
-- and when it was stopped through the API.
ALTER TABLE recordings ADD COLUMN label TEXT;
ALTER TABLE recordings ADD COLUMN stopped_at TIMESTAMPTZ;
