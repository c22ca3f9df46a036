-- Recorded first; then names resolve in roomreconciler, then in the application's schema (where sessions is).
INSERT INTO roomreconciler.migrations (version, name) VALUES ('006', 'internal_schema_and_privileges');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
-- Everything internal moves into schema roomreconciler, out of the application's schema (which PostgREST exposes
-- to browsers on Supabase); the application's schema keeps only the contract: the clock columns on sessions and
-- session_clock_get/pause/resume/start/end. The migrator runs this script with search_path
-- "roomreconciler, <the application's schema>", so unqualified names below resolve to one or the other.
--
-- Two starting points end in the same state:
--   * an install made before this script: V002-V005 created everything in the application's schema;
--   * a fresh install: the migrator ran V002-V005 with roomreconciler first, so the internals are already there
--     and the contract functions have to come out into the application's schema.
CREATE SCHEMA IF NOT EXISTS roomreconciler;

-- NOLOGIN roles, granted to login roles by the operator (README "Installing into an existing database"):
--   roomreconciler_clock_writer: may change the clock columns of sessions (the trigger below checks membership);
--   roomreconciler_daemon: what `run` needs, for a login role that owns nothing.
-- Roles belong to the cluster: another database of it may be migrating at the same moment (the migrator's lock is
-- per database), so a role made meanwhile by it counts as made.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'roomreconciler_clock_writer') THEN
        BEGIN CREATE ROLE roomreconciler_clock_writer NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'roomreconciler_daemon') THEN
        BEGIN CREATE ROLE roomreconciler_daemon NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
    END IF;
    -- The role that migrates keeps writing clocks (it is the owner), and so does Supabase's server role.
    EXECUTE format('GRANT roomreconciler_clock_writer TO %I', current_user);
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
        GRANT roomreconciler_clock_writer TO service_role;
    END IF;
END;
$$;
GRANT roomreconciler_clock_writer TO roomreconciler_daemon;

-- The clients' one function. The same snapshot as session_clock_snapshot, written out rather than called: a SQL
-- function taking a row is not inlined, and that call alone halves the calls per second (tests/Benchmarks
-- clock-get). PL/pgSQL keeps its plan between calls, which a SQL function with a SET clause does not.
-- SECURITY INVOKER: the application's row level security on sessions decides what a client sees. Created here,
-- in roomreconciler, and moved out into the application's schema with the rest of the contract below.
DROP FUNCTION session_clock_get(uuid);
CREATE FUNCTION session_clock_get(p_session_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_now    timestamptz := date_trunc('milliseconds', clock_timestamp());
    v_result jsonb;
BEGIN
    SELECT jsonb_build_object(
        'session_id',           s.id,
        'started_at',           to_char((CASE WHEN s.clock_tracked THEN s.started_at END) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'ended_at',             to_char((CASE WHEN s.clock_tracked THEN s.ended_at END) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'is_paused',            s.clock_tracked AND s.is_paused,
        'total_paused_ms',      CASE WHEN s.clock_tracked THEN s.total_paused_ms ELSE 0 END,
        'last_state_change_at', to_char((CASE WHEN s.clock_tracked THEN s.last_state_change_at END) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'server_now',           to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'elapsed_ms',           CASE
            WHEN s.started_at IS NULL OR NOT s.clock_tracked THEN 0
            ELSE greatest(0, (extract(epoch FROM
                     CASE WHEN s.is_paused THEN s.last_state_change_at
                          WHEN s.ended_at IS NOT NULL THEN s.ended_at
                          ELSE v_now END - s.started_at) * 1000)::bigint - s.total_paused_ms)
        END)
    INTO v_result
    FROM sessions s WHERE s.id = p_session_id;
    RETURN v_result;
END;
$$;

DO $$
DECLARE
    v_app  name := (SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions'));
    v_name text;
    v_sig  regprocedure;
    -- Installed before this script: its internals are still in the application's schema.
    v_existing boolean := EXISTS (SELECT FROM pg_proc p WHERE p.proname = 'session_reconcile_apply'
                                  AND p.pronamespace = to_regnamespace(v_app));
BEGIN
    IF v_app IS NULL OR v_app = 'roomreconciler' THEN
        RAISE EXCEPTION 'table sessions not found in the application''s schema';
    END IF;

    -- Tables: ours move in unless already there. An application table of the same name in its own schema is
    -- left alone (on a fresh install ours was created in roomreconciler and never collided with it).
    FOR v_name IN
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = v_app::regnamespace AND c.relkind = 'r'
          AND (c.relname IN ('session_presence', 'session_events', 'livekit_webhook_events') OR c.relname LIKE 'qrtz\_%')
          AND to_regclass(format('roomreconciler.%I', c.relname)) IS NULL
          -- Only our own: session_presence and session_events reference sessions; the webhook log and qrtz_* are known
          -- by name only, so they move only out of an earlier install (an application may run Quartz of its own).
          AND (c.relname NOT IN ('session_presence', 'session_events')
               OR EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.confrelid = to_regclass('sessions')))
          AND (c.relname IN ('session_presence', 'session_events') OR v_existing)
    LOOP
        EXECUTE format('ALTER TABLE %I.%I SET SCHEMA roomreconciler', v_app, v_name);
    END LOOP;

    -- Functions: internals into roomreconciler, the contract out into the application's schema.
    FOR v_sig IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = v_app::regnamespace
          AND p.proname IN ('session_clock_iso', 'session_clock_snapshot', 'session_clock_transition',
                            'session_clock_notify', 'session_reconcile_apply')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET SCHEMA roomreconciler', v_sig);
    END LOOP;
    FOR v_sig IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'roomreconciler'::regnamespace
          AND p.proname IN ('session_clock_get', 'session_clock_pause', 'session_clock_resume',
                            'session_clock_start', 'session_clock_end')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET SCHEMA %I', v_sig, v_app);
    END LOOP;

    -- Adoption. Rows that exist now read clock_tracked = false without a rewrite and without any trigger firing
    -- (no NOTIFY, no event); rows inserted from now on read true. An install made before this script tracked every
    -- session, so there every existing row stays tracked.
    EXECUTE format('ALTER TABLE %I.sessions ADD COLUMN IF NOT EXISTS clock_tracked boolean NOT NULL DEFAULT %L',
                   v_app, v_existing);
    EXECUTE format('ALTER TABLE %I.sessions ALTER COLUMN clock_tracked SET DEFAULT true', v_app);
END;
$$;

-- Served from the index on every reconcile tick: only what the clock looks after, never the history.
CREATE INDEX IF NOT EXISTS sessions_clock_tracked_open_idx ON sessions (id) WHERE clock_tracked AND ended_at IS NULL;

-- A session the clock never tracked has no clock: it reads as not started, whatever the application's own
-- columns say (an application's started_at of months ago must not read as months of running time).
CREATE OR REPLACE FUNCTION session_clock_snapshot(s sessions, p_now timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'session_id',           s.id,
        'started_at',           session_clock_iso(CASE WHEN s.clock_tracked THEN s.started_at END),
        'ended_at',             session_clock_iso(CASE WHEN s.clock_tracked THEN s.ended_at END),
        'is_paused',            s.clock_tracked AND s.is_paused,
        'total_paused_ms',      CASE WHEN s.clock_tracked THEN s.total_paused_ms ELSE 0 END,
        'last_state_change_at', session_clock_iso(CASE WHEN s.clock_tracked THEN s.last_state_change_at END),
        'server_now',           session_clock_iso(p_now),
        'elapsed_ms',           CASE
            WHEN s.started_at IS NULL OR NOT s.clock_tracked THEN 0
            ELSE greatest(0, (extract(epoch FROM
                     CASE WHEN s.is_paused THEN s.last_state_change_at
                          WHEN s.ended_at IS NOT NULL THEN s.ended_at
                          ELSE p_now END - s.started_at) * 1000)::bigint - s.total_paused_ms)
        END);

-- As V003, and a session the clock does not track cannot be moved by it (nor by the API): it has no clock.
CREATE OR REPLACE FUNCTION session_clock_transition(
    p_session_id uuid, p_event text, p_reason text, p_at timestamptz, p_source text, p_details jsonb DEFAULT '{}')
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    s       sessions;
    v_now   timestamptz;
    v_at    timestamptz;
    v_error text;
BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('success', false, 'changed', false, 'error', 'session not found', 'clock', NULL);
    END IF;

    v_now := date_trunc('milliseconds', clock_timestamp());
    -- greatest() ignores nulls: the floor is the latest committed moment of this clock.
    v_at := greatest(least(coalesce(date_trunc('milliseconds', p_at), v_now), v_now),
                     s.started_at, s.last_state_change_at, s.ended_at);

    v_error := CASE
        WHEN p_event NOT IN ('started', 'paused', 'resumed', 'ended') THEN 'unknown transition ' || coalesce(p_event, 'null')
        WHEN NOT s.clock_tracked THEN 'session is not tracked'
        WHEN p_event IN ('paused', 'resumed') AND s.started_at IS NULL THEN 'session has not started'
        WHEN p_event IN ('started', 'paused', 'resumed') AND s.ended_at IS NOT NULL THEN 'session has ended'
    END;
    IF v_error IS NOT NULL THEN
        RETURN jsonb_build_object('success', false, 'changed', false, 'error', v_error,
                                  'clock', session_clock_snapshot(s, v_now));
    END IF;

    IF (p_event = 'started' AND s.started_at IS NOT NULL)
        OR (p_event = 'paused' AND s.is_paused)
        OR (p_event = 'resumed' AND NOT s.is_paused)
        OR (p_event = 'ended' AND s.ended_at IS NOT NULL) THEN
        RETURN jsonb_build_object('success', true, 'changed', false, 'clock', session_clock_snapshot(s, v_now));
    END IF;

    UPDATE sessions SET
        started_at           = CASE WHEN p_event = 'started' THEN v_at ELSE started_at END,
        ended_at             = CASE WHEN p_event = 'ended' THEN v_at ELSE ended_at END,
        is_paused            = CASE p_event WHEN 'paused' THEN true WHEN 'resumed' THEN false ELSE is_paused END,
        total_paused_ms      = total_paused_ms + CASE WHEN p_event = 'resumed'
                                   THEN (extract(epoch FROM v_at - last_state_change_at) * 1000)::bigint ELSE 0 END,
        last_state_change_at = CASE WHEN p_event = 'ended' THEN last_state_change_at ELSE v_at END
    WHERE id = p_session_id
    RETURNING * INTO s;

    INSERT INTO session_events (session_id, event_type, reason, effective_at, source, details)
    VALUES (p_session_id, p_event, p_reason, v_at, p_source,
            coalesce(p_details, '{}') || jsonb_build_object('requested_at', session_clock_iso(p_at)));

    RETURN jsonb_build_object('success', true, 'changed', true, 'clock', session_clock_snapshot(s, v_now));
END;
$$;

-- As V003, and silent about rows the clock does not track: the application's own changes to its history (or to
-- sessions it never let the clock look after) are not clock changes. Starting or stopping tracking is one.
CREATE OR REPLACE FUNCTION session_clock_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.clock_tracked THEN
            PERFORM pg_notify('session_clock', jsonb_build_object('session_id', OLD.id, 'deleted', true)::text);
        END IF;
    ELSIF NEW.clock_tracked OR (TG_OP = 'UPDATE' AND OLD.clock_tracked) THEN
        PERFORM pg_notify('session_clock',
            (session_clock_snapshot(NEW, NULL) - 'server_now' - 'elapsed_ms')::text);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER sessions_clock_notify ON sessions;
CREATE TRIGGER sessions_clock_notify
    AFTER INSERT OR DELETE OR UPDATE OF started_at, ended_at, is_paused, total_paused_ms, last_state_change_at, clock_tracked
    ON sessions FOR EACH ROW EXECUTE FUNCTION session_clock_notify();

-- Only the clock writes the clock. An application's policy often lets participants update their own session row,
-- and a table-wide UPDATE grant cannot be narrowed by column privileges, so the rule is a trigger: a change to a
-- clock column (or a new row whose clock is not blank) is refused unless the current role is a member of
-- roomreconciler_clock_writer (the owner, the daemon, Supabase's service_role). It runs as the caller
-- (SECURITY INVOKER), so current_user is whoever is writing.
CREATE FUNCTION session_clock_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF pg_has_role(current_user, 'roomreconciler_clock_writer', 'MEMBER') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.started_at IS NOT NULL OR NEW.ended_at IS NOT NULL OR NEW.is_paused OR NEW.total_paused_ms <> 0
            OR NEW.last_state_change_at IS NOT NULL OR NOT NEW.clock_tracked THEN
            RAISE EXCEPTION 'only the session clock may set clock columns of sessions'
                USING ERRCODE = 'insufficient_privilege', HINT = 'insert the session without clock columns';
        END IF;
    ELSIF (NEW.started_at, NEW.ended_at, NEW.is_paused, NEW.total_paused_ms, NEW.last_state_change_at, NEW.clock_tracked)
          IS DISTINCT FROM (OLD.started_at, OLD.ended_at, OLD.is_paused, OLD.total_paused_ms, OLD.last_state_change_at, OLD.clock_tracked) THEN
        RAISE EXCEPTION 'only the session clock may change clock columns of sessions'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER sessions_clock_guard
    BEFORE INSERT OR UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION session_clock_guard();

-- The notification trigger runs for whoever writes sessions, a client role included (an application may let
-- participants insert or edit their session rows); the snapshot it sends is built by an internal function that
-- clients may neither see nor execute, so it runs as its owner. A trigger function cannot be called directly.
ALTER FUNCTION session_clock_notify() SECURITY DEFINER;
-- Likewise the one place a clock changes writes the internal event log; who may call it is decided by EXECUTE,
-- which only the clock writers hold (through session_clock_pause/resume/start/end or session_reconcile_apply).
ALTER FUNCTION session_clock_transition(uuid, text, text, timestamptz, text, jsonb) SECURITY DEFINER;

-- The daemon sees every session whatever the application's row level security (a policy does nothing where RLS
-- is off): it reads them, locks them to apply a decision, and adopts live ones. Its privileges, not this policy,
-- limit it to reading and to the clock columns.
DROP POLICY IF EXISTS roomreconciler_daemon ON sessions;
CREATE POLICY roomreconciler_daemon ON sessions FOR ALL TO roomreconciler_daemon USING (true) WITH CHECK (true);

-- Privileges, from nothing: whatever PUBLIC or default privileges (Supabase grants ALL on every new object in
-- public to anon, authenticated and service_role) gave on our objects is taken back, then granted as meant.
DO $$
DECLARE
    v_app     name := (SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions'));
    r         record;
    v_grantee text;
BEGIN
    FOR r IN
        SELECT format('FUNCTION %s', p.oid::regprocedure) AS object, p.proowner AS owner, p.proacl AS acl
        FROM pg_proc p
        WHERE p.pronamespace = 'roomreconciler'::regnamespace
           OR (p.pronamespace = to_regnamespace(v_app) AND p.proname IN
               ('session_clock_get', 'session_clock_pause', 'session_clock_resume', 'session_clock_start', 'session_clock_end'))
        UNION ALL
        SELECT format('TABLE roomreconciler.%I', c.relname), c.relowner, c.relacl
        FROM pg_class c WHERE c.relnamespace = 'roomreconciler'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
        UNION ALL
        SELECT format('SEQUENCE roomreconciler.%I', c.relname), c.relowner, c.relacl
        FROM pg_class c WHERE c.relnamespace = 'roomreconciler'::regnamespace AND c.relkind = 'S'
        UNION ALL
        SELECT 'SCHEMA roomreconciler', n.nspowner, n.nspacl FROM pg_namespace n WHERE n.nspname = 'roomreconciler'
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', r.object);
        FOR v_grantee IN
            SELECT DISTINCT a.grantee::regrole::text FROM aclexplode(r.acl) a WHERE a.grantee <> 0 AND a.grantee <> r.owner
        LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s', r.object, v_grantee);
        END LOOP;
    END LOOP;

    -- Every function pins its search_path: pg_catalog first, so nothing can shadow a built-in.
    FOR r IN
        SELECT p.oid::regprocedure AS sig FROM pg_proc p
        WHERE p.pronamespace = 'roomreconciler'::regnamespace
           OR (p.pronamespace = to_regnamespace(v_app) AND p.proname IN
               ('session_clock_get', 'session_clock_pause', 'session_clock_resume', 'session_clock_start', 'session_clock_end'))
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, roomreconciler, %I', r.sig, v_app);
    END LOOP;

    EXECUTE format('GRANT EXECUTE ON FUNCTION %I.session_clock_get(uuid) TO PUBLIC', v_app);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %1$I.session_clock_pause(uuid, text, timestamptz), %1$I.session_clock_resume(uuid, text, timestamptz),
                    %1$I.session_clock_start(uuid, text, timestamptz), %1$I.session_clock_end(uuid, text, timestamptz)
                    TO roomreconciler_clock_writer', v_app);
    -- Supabase's service_role is NOINHERIT: membership lets it past the clock guard, but privileges must be its own.
    GRANT EXECUTE ON FUNCTION roomreconciler.session_clock_transition(uuid, text, text, timestamptz, text, jsonb)
        TO roomreconciler_clock_writer;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
        GRANT EXECUTE ON FUNCTION roomreconciler.session_clock_transition(uuid, text, text, timestamptz, text, jsonb) TO service_role;
        EXECUTE format('GRANT EXECUTE ON FUNCTION %1$I.session_clock_pause(uuid, text, timestamptz), %1$I.session_clock_resume(uuid, text, timestamptz),
                        %1$I.session_clock_start(uuid, text, timestamptz), %1$I.session_clock_end(uuid, text, timestamptz)
                        TO service_role', v_app);
    END IF;
    -- What `run` needs (README): it reads sessions, and writes clock columns only through the clock's functions.
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO roomreconciler_daemon', v_app);
    EXECUTE format('GRANT SELECT, UPDATE (started_at, ended_at, is_paused, total_paused_ms, last_state_change_at, clock_tracked)
                    ON %I.sessions TO roomreconciler_daemon', v_app);
END;
$$;

GRANT USAGE ON SCHEMA roomreconciler TO roomreconciler_daemon;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA roomreconciler TO roomreconciler_daemon;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA roomreconciler TO roomreconciler_daemon;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA roomreconciler TO roomreconciler_daemon;
-- Quartz's tables are made by `migrate` after this script, by the same role: the daemon gets them too.
ALTER DEFAULT PRIVILEGES IN SCHEMA roomreconciler GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO roomreconciler_daemon;
ALTER DEFAULT PRIVILEGES IN SCHEMA roomreconciler GRANT USAGE, SELECT ON SEQUENCES TO roomreconciler_daemon;
