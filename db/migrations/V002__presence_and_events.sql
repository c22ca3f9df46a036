-- Recorded first; then names resolve in roomreconciler, then in the application's schema (where sessions is).
INSERT INTO roomreconciler.migrations (version, name) VALUES ('002', 'presence_and_events');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
-- The "disconnected since" table: what the reconciler last saw of each session's room. Grace periods live
-- here (below_since), so they survive restarts and hand-overs between replicas.
CREATE TABLE session_presence (
    session_id   uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    participants text[]      NOT NULL DEFAULT '{}',   -- counted identities at the last observation
    below_since  timestamptz,                         -- when the count dropped below MinParticipants; null while enough are present
    observed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    source       text        NOT NULL CHECK (source IN ('poll', 'webhook', 'api'))
);

-- Append-only log of clock transitions: every second billed can be explained from these rows.
CREATE TABLE session_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id   uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    event_type   text        NOT NULL CHECK (event_type IN ('started', 'paused', 'resumed', 'ended')),
    reason       text,
    effective_at timestamptz NOT NULL,                -- when the transition took effect on the clock
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),  -- when it was written
    source       text        NOT NULL CHECK (source IN ('poll', 'webhook', 'api')),
    details      jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX session_events_session_id_idx ON session_events (session_id, id);
