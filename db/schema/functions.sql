-- GENERATED from db/migrations by `RoomReconciler migrations functions db/schema/functions.sql`; do not edit.
-- Each function of RoomReconciler as the last migration that creates it defines it, with that migration's comment,
-- in name order. Schemas: session_clock_get/pause/resume/start/end live in the application's schema (the contract);
-- every other one in roomreconciler. Privileges and each function's pinned search_path are set by the privilege
-- blocks of V006 (and of the script that last made the function), not shown here.

-- livekit_budget_hold: V008__livekit_request_budget.sql
-- LiveKit answered 429: nobody calls for p_for (its Retry-After). A grant of the whole budget, dated so that it
-- expires exactly then, holds every replica off without a table of its own.
CREATE FUNCTION livekit_budget_hold(p_for interval, p_budget integer, p_window interval)
    RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF p_for IS NULL OR p_for <= interval '0' OR p_for > p_window OR p_budget IS NULL OR p_budget < 1 THEN
        RAISE EXCEPTION 'livekit_budget_hold: the hold must be positive and at most the window, the budget positive (got %, %, %)',
            p_for, p_budget, p_window USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOCK TABLE livekit_requests IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO livekit_requests (spent_at, calls) VALUES (clock_timestamp() + p_for - p_window, p_budget);
END;
$$;

-- livekit_budget_take: V008__livekit_request_budget.sql
-- Grants up to p_wanted calls, as many as keep the calls granted within the last p_window at or under p_ceiling (the
-- budget, or the share of it that the caller's priority may reach). The table lock serialises grants from every
-- replica (a few microseconds each); database time is the only time. wait_ms says how long until the oldest grant
-- in the window expires when fewer than p_wanted were granted, so the caller can sleep instead of asking again.
CREATE FUNCTION livekit_budget_take(p_wanted integer, p_ceiling integer, p_window interval)
    RETURNS TABLE (granted integer, spent integer, wait_ms double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_now     timestamptz;
    v_spent   integer;
    v_granted integer;
    v_oldest  timestamptz;
BEGIN
    IF p_wanted IS NULL OR p_wanted < 1 OR p_ceiling IS NULL OR p_ceiling < 0 OR p_window IS NULL OR p_window <= interval '0' THEN
        RAISE EXCEPTION 'livekit_budget_take: wanted must be positive, ceiling not negative, window positive (got %, %, %)',
            p_wanted, p_ceiling, p_window USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOCK TABLE livekit_requests IN SHARE ROW EXCLUSIVE MODE;
    v_now := clock_timestamp();
    DELETE FROM livekit_requests WHERE spent_at <= v_now - p_window;
    SELECT coalesce(sum(r.calls), 0), min(r.spent_at) INTO v_spent, v_oldest FROM livekit_requests r;
    v_granted := greatest(0, least(p_wanted, p_ceiling - v_spent));
    IF v_granted > 0 THEN
        INSERT INTO livekit_requests (spent_at, calls) VALUES (v_now, v_granted);
    END IF;
    RETURN QUERY SELECT v_granted, v_spent + v_granted,
        CASE WHEN v_granted < p_wanted AND v_oldest IS NOT NULL
             THEN greatest(0, extract(epoch FROM (v_oldest + p_window - v_now)) * 1000) ELSE 0 END::double precision;
END;
$$;

-- session_clock_end: V003__clock_functions.sql
CREATE FUNCTION session_clock_end(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'ended', p_reason, p_at, 'api');

-- session_clock_get: V006__internal_schema_and_privileges.sql
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

-- session_clock_guard: V006__internal_schema_and_privileges.sql
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

-- session_clock_iso: V003__clock_functions.sql
CREATE FUNCTION session_clock_iso(p_t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char(p_t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- session_clock_notify: V006__internal_schema_and_privileges.sql
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
-- The notification trigger runs for whoever writes sessions, a client role included (an application may let
-- participants insert or edit their session rows); the snapshot it sends is built by an internal function that
-- clients may neither see nor execute, so it runs as its owner. A trigger function cannot be called directly.
ALTER FUNCTION session_clock_notify() SECURITY DEFINER;

-- session_clock_pause: V003__clock_functions.sql
CREATE FUNCTION session_clock_pause(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'paused', p_reason, p_at, 'api');

-- session_clock_resume: V003__clock_functions.sql
CREATE FUNCTION session_clock_resume(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'resumed', p_reason, p_at, 'api');

-- session_clock_snapshot: V006__internal_schema_and_privileges.sql
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

-- session_clock_start: V003__clock_functions.sql
-- Start and end are not in the seed's three RPCs, but the application needs them as much as pause and resume.
CREATE FUNCTION session_clock_start(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'started', p_reason, p_at, 'api');

-- session_clock_transition: V006__internal_schema_and_privileges.sql
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
-- Likewise the one place a clock changes writes the internal event log; who may call it is decided by EXECUTE,
-- which only the clock writers hold (through session_clock_pause/resume/start/end or session_reconcile_apply).
ALTER FUNCTION session_clock_transition(uuid, text, text, timestamptz, text, jsonb) SECURITY DEFINER;

-- session_events_outbox: V009__events_outbox.sql
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

-- session_reconcile_apply: V007__reconcile_apply_outcome_and_error.sql
-- p_decisions is a JSON array of
--   {"session_id": uuid, "version": text, "presence_version": text|null,
--    "actions": [{"event": "started"|"paused"|"resumed"|"ended", "at": timestamptz, "reason": text, "details": {...}}],
--    "presence": {"participants": [text], "below_since": timestamptz|null} | null,
--    "room": {"sid": text|null, "num_participants": int|null} | null}
-- A decision is applied only if neither the session's row nor its presence row changed since it was read
-- (their xmin is the version): a decision made on an old reading is skipped, never applied late, and the
-- next pass decides again. Rows are locked in session id order, so concurrent passes cannot deadlock.
CREATE FUNCTION session_reconcile_apply(p_decisions jsonb, p_source text)
    RETURNS TABLE (session_id uuid, outcome text, error text, event_type text, reason text,
                   effective_at timestamptz, created_at timestamptz)
    LANGUAGE plpgsql AS $$
DECLARE
    d        jsonb;
    a        jsonb;
    v_id     uuid;
    v_result jsonb;
BEGIN
    FOR d IN SELECT value FROM jsonb_array_elements(p_decisions) ORDER BY (value->>'session_id')::uuid LOOP
        v_id := (d->>'session_id')::uuid;
        PERFORM 1 FROM sessions s WHERE s.id = v_id AND s.xmin::text = d->>'version' FOR UPDATE;
        IF NOT FOUND OR (SELECT p.xmin::text FROM session_presence p WHERE p.session_id = v_id)
                        IS DISTINCT FROM d->>'presence_version' THEN
            RETURN QUERY SELECT v_id, 'stale', NULL::text, NULL::text, NULL::text, NULL::timestamptz, NULL::timestamptz;
            CONTINUE;
        END IF;

        FOR a IN SELECT value FROM jsonb_array_elements(coalesce(d->'actions', '[]')) LOOP
            v_result := session_clock_transition(v_id, a->>'event', a->>'reason', (a->>'at')::timestamptz,
                                                 p_source, coalesce(a->'details', '{}'));
            IF (v_result->>'changed')::boolean THEN
                RETURN QUERY SELECT e.session_id, 'changed', NULL::text, e.event_type, e.reason, e.effective_at, e.created_at
                             FROM session_events e WHERE e.session_id = v_id ORDER BY e.id DESC LIMIT 1;
            ELSE
                RETURN QUERY SELECT v_id, CASE WHEN v_result->>'error' IS NULL THEN 'unchanged' ELSE 'rejected' END,
                                    v_result->>'error', a->>'event', a->>'reason', NULL::timestamptz, NULL::timestamptz;
            END IF;
        END LOOP;

        IF jsonb_typeof(d->'presence') = 'object' OR jsonb_typeof(d->'room') = 'object' THEN
            INSERT INTO session_presence AS p (session_id, participants, below_since, observed_at, source, room_sid, room_num_participants)
            VALUES (v_id,
                    coalesce(ARRAY(SELECT jsonb_array_elements_text(d->'presence'->'participants')), '{}'),
                    (d->'presence'->>'below_since')::timestamptz,
                    clock_timestamp(), p_source,
                    d->'room'->>'sid', (d->'room'->>'num_participants')::integer)
            ON CONFLICT ON CONSTRAINT session_presence_pkey DO UPDATE SET
                participants          = CASE WHEN jsonb_typeof(d->'presence') = 'object' THEN excluded.participants ELSE p.participants END,
                below_since           = CASE WHEN jsonb_typeof(d->'presence') = 'object' THEN excluded.below_since ELSE p.below_since END,
                observed_at           = CASE WHEN jsonb_typeof(d->'presence') = 'object' THEN excluded.observed_at ELSE p.observed_at END,
                source                = CASE WHEN jsonb_typeof(d->'presence') = 'object' THEN excluded.source ELSE p.source END,
                room_sid              = CASE WHEN jsonb_typeof(d->'room') = 'object' THEN excluded.room_sid ELSE p.room_sid END,
                room_num_participants = CASE WHEN jsonb_typeof(d->'room') = 'object' THEN excluded.room_num_participants ELSE p.room_num_participants END;
        END IF;
    END LOOP;
END;
$$;
