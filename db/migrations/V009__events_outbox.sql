INSERT INTO roomreconciler.migrations (version, name) VALUES ('009', 'events_outbox');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- Outbound events (src/RoomReconciler/Events/README.md): every clock transition, whoever made it, becomes an event
-- for the application's server, written in the transaction that changed the clock and delivered after its commit.

-- The endpoints of Events:Endpoints, as the daemon last synced them at its start: N is the index of the key
-- Events:Endpoints:N. Secrets stay in the configuration. A 410 from an endpoint disables it here, for every replica.
CREATE TABLE event_endpoints (
    id              integer PRIMARY KEY CHECK (id >= 0),
    url             text        NOT NULL,
    configured      boolean     NOT NULL DEFAULT true,   -- false once a daemon started without it
    disabled_at     timestamptz,                         -- the endpoint answered 410 Gone
    disabled_reason text
);

-- One row per event, kept after delivery: the payload is the exact bytes signed and sent on every attempt.
-- sequence counts each session's events 1, 2, 3, ... without gaps, taken under the session's row lock.
CREATE TABLE event_outbox (
    event_id         uuid        PRIMARY KEY,
    session_id       uuid        NOT NULL,               -- no reference: a deleted session's events are still delivered
    sequence         bigint      NOT NULL,
    event_type       text        NOT NULL CHECK (event_type IN ('session.started', 'session.paused', 'session.resumed', 'session.ended')),
    payload          bytea       NOT NULL,
    session_event_id bigint      NOT NULL,               -- the session_events row it was made from
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (session_id, sequence)
);

-- Each event's delivery to each endpoint. The head of an (endpoint, session) is its lowest unacknowledged sequence;
-- only a head is ever attempted, so n + 1 waits for n. A claim sets leased_until and counts the attempt; a replica
-- that dies holding one (kill -9) leaves a lease that expires, and the delivery is claimed again.
CREATE TABLE event_deliveries (
    endpoint_id     integer     NOT NULL REFERENCES event_endpoints (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL REFERENCES event_outbox (event_id) ON DELETE CASCADE,
    session_id      uuid        NOT NULL,
    sequence        bigint      NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    leased_until    timestamptz,
    acknowledged_at timestamptz,
    dead_at         timestamptz,                         -- every retry of the schedule failed; replay makes it due again
    last_status     integer,                             -- the last attempt's HTTP status, null for no answer
    last_error      text,
    PRIMARY KEY (endpoint_id, event_id)
);

-- What is still to deliver, by head: the claim, the backlog and the next wake-up read only these rows.
CREATE INDEX event_deliveries_pending_idx ON event_deliveries (endpoint_id, session_id, sequence) WHERE acknowledged_at IS NULL;

-- Runs in the transition's transaction (session_events is written only by session_clock_transition, for the
-- reconciler, the webhook path and the application's own session_clock_* calls alike), so an event exists exactly
-- when its transition committed. With no endpoint to send to, it writes nothing. The NOTIFY, sent at commit, wakes
-- the daemons' delivery at once; identical payloads within one transaction are folded into one by PostgreSQL.
CREATE FUNCTION session_events_outbox() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    s          sessions;
    v_event    uuid;
    v_sequence bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM event_endpoints e WHERE e.configured AND e.disabled_at IS NULL) THEN
        RETURN NULL;
    END IF;
    -- The transition holds this lock already; taking it here keeps the sequence gapless for any other writer too.
    SELECT * INTO s FROM sessions WHERE id = NEW.session_id FOR UPDATE;
    SELECT coalesce(max(o.sequence), 0) + 1 INTO v_sequence FROM event_outbox o WHERE o.session_id = NEW.session_id;
    v_event := gen_random_uuid();
    INSERT INTO event_outbox (event_id, session_id, sequence, event_type, payload, session_event_id)
    VALUES (v_event, NEW.session_id, v_sequence, 'session.' || NEW.event_type,
            convert_to(jsonb_build_object(
                'type', 'session.' || NEW.event_type,
                'timestamp', session_clock_iso(NEW.effective_at),
                'data', jsonb_build_object(
                    'session_id',   NEW.session_id,
                    'sequence',     v_sequence,
                    'reason',       NEW.reason,
                    'source',       NEW.source,
                    'effective_at', session_clock_iso(NEW.effective_at),
                    'clock',        session_clock_snapshot(s, NEW.created_at)))::text, 'UTF8'),
            NEW.id);
    INSERT INTO event_deliveries (endpoint_id, event_id, session_id, sequence)
    SELECT e.id, v_event, NEW.session_id, v_sequence FROM event_endpoints e WHERE e.configured AND e.disabled_at IS NULL;
    PERFORM pg_notify('roomreconciler_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER session_events_outbox AFTER INSERT ON session_events FOR EACH ROW EXECUTE FUNCTION session_events_outbox();

-- Privileges as V006 set them for everything internal: nobody but the owner from the start (whatever PUBLIC or
-- default privileges gave, Supabase's grants to anon, authenticated and service_role included), the function's
-- search_path pinned with pg_catalog first, and the daemon given only what delivery and its commands use.
DO $$
DECLARE
    v_app     name := (SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions'));
    r         record;
    v_grantee text;
BEGIN
    FOR r IN
        SELECT format('TABLE roomreconciler.%I', c.relname) AS object, c.relowner AS owner, c.relacl AS acl
        FROM pg_class c WHERE c.relnamespace = 'roomreconciler'::regnamespace
          AND c.relname IN ('event_endpoints', 'event_outbox', 'event_deliveries')
        UNION ALL
        SELECT 'FUNCTION roomreconciler.session_events_outbox()', p.proowner, p.proacl
        FROM pg_proc p WHERE p.oid = 'roomreconciler.session_events_outbox()'::regprocedure
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', r.object);
        FOR v_grantee IN
            SELECT DISTINCT a.grantee::regrole::text FROM aclexplode(r.acl) a WHERE a.grantee <> 0 AND a.grantee <> r.owner
        LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s', r.object, v_grantee);
        END LOOP;
    END LOOP;
    EXECUTE format('ALTER FUNCTION roomreconciler.session_events_outbox() SET search_path = pg_catalog, roomreconciler, %I', v_app);
END;
$$;
GRANT SELECT, INSERT, UPDATE ON roomreconciler.event_endpoints TO roomreconciler_daemon;
GRANT SELECT ON roomreconciler.event_outbox TO roomreconciler_daemon;
GRANT SELECT, UPDATE ON roomreconciler.event_deliveries TO roomreconciler_daemon;
