-- Recorded first; then names resolve in roomreconciler, then in the application's schema (where sessions is).
INSERT INTO roomreconciler.migrations (version, name) VALUES ('004', 'livekit_webhook_events');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
-- LiveKit webhook events already received, by their id ("EV_..."): LiveKit may deliver an event more than once
-- (a retry after we answered), so each is handled once, across restarts and replicas. Retries end within about
-- a minute, so rows older than a day are deleted by the receiver as it goes.
CREATE TABLE livekit_webhook_events (
    id          text        PRIMARY KEY,
    event       text        NOT NULL,
    room        text,
    created_at  timestamptz,                                  -- LiveKit's createdAt (its clock, 1 s resolution)
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX livekit_webhook_events_received_at_idx ON livekit_webhook_events (received_at);
