-- The sessions table belongs to the application when it already exists: create it only when absent and
-- otherwise add just the clock columns that are missing, leaving every existing column and row as it is.
CREATE TABLE IF NOT EXISTS sessions (
    id uuid PRIMARY KEY
);

ALTER TABLE sessions
    ADD COLUMN IF NOT EXISTS started_at           timestamptz,
    ADD COLUMN IF NOT EXISTS ended_at             timestamptz,
    ADD COLUMN IF NOT EXISTS is_paused            boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS total_paused_ms      bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS last_state_change_at timestamptz;
