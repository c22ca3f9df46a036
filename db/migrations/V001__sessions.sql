-- Every script records itself in roomreconciler.migrations as its first statement, whichever tool applies it
-- (RoomReconciler migrate, psql, the Supabase CLI, the SQL editor): the database knows its own schema version, and
-- a script applied a second time fails on that line and changes nothing. This one runs with the application's
-- schema first on the search_path (where sessions is, or is to be made).
CREATE SCHEMA IF NOT EXISTS roomreconciler;
CREATE TABLE IF NOT EXISTS roomreconciler.migrations (
    version    text        PRIMARY KEY,                      -- '001' for V001__sessions.sql
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by name        NOT NULL DEFAULT session_user
);
INSERT INTO roomreconciler.migrations (version, name) VALUES ('001', 'sessions');
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
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
