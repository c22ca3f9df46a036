-- Recorded first; then names resolve in roomreconciler, then in the application's schema (where sessions is).
INSERT INTO roomreconciler.migrations (version, name) VALUES ('003', 'clock_functions');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
-- Every time below is the database's own: clock_timestamp() read after the row lock is taken, truncated to
-- milliseconds so that total_paused_ms is exactly the sum of the logged paused intervals.

CREATE FUNCTION session_clock_iso(p_t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char(p_t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- The clock columns of one row as the public snapshot, evaluated at p_now.
CREATE FUNCTION session_clock_snapshot(s sessions, p_now timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'session_id',           s.id,
        'started_at',           session_clock_iso(s.started_at),
        'ended_at',             session_clock_iso(s.ended_at),
        'is_paused',            s.is_paused,
        'total_paused_ms',      s.total_paused_ms,
        'last_state_change_at', session_clock_iso(s.last_state_change_at),
        'server_now',           session_clock_iso(p_now),
        'elapsed_ms',           CASE
            WHEN s.started_at IS NULL THEN 0
            ELSE greatest(0, (extract(epoch FROM
                     CASE WHEN s.is_paused THEN s.last_state_change_at
                          WHEN s.ended_at IS NOT NULL THEN s.ended_at
                          ELSE p_now END - s.started_at) * 1000)::bigint - s.total_paused_ms)
        END);

CREATE FUNCTION session_clock_get(p_session_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN (SELECT session_clock_snapshot(s, date_trunc('milliseconds', clock_timestamp()))
            FROM sessions s WHERE s.id = p_session_id);

-- The one place a clock changes. p_event is the transition wanted ('started', 'paused', 'resumed', 'ended');
-- p_at the moment it should take effect, clamped into [last committed change, now] so the clock never runs
-- backwards past a committed transition nor into the future. Idempotent: a transition that is already in
-- effect changes nothing and logs nothing.
CREATE FUNCTION session_clock_transition(
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

CREATE FUNCTION session_clock_pause(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'paused', p_reason, p_at, 'api');

CREATE FUNCTION session_clock_resume(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'resumed', p_reason, p_at, 'api');

-- Start and end are not in the seed's three RPCs, but the application needs them as much as pause and resume.
CREATE FUNCTION session_clock_start(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'started', p_reason, p_at, 'api');

CREATE FUNCTION session_clock_end(p_session_id uuid, p_reason text, p_at timestamptz DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql
    RETURN session_clock_transition(p_session_id, 'ended', p_reason, p_at, 'api');

-- Every change of a clock, whoever makes it (these functions, the reconciler or the application's own SQL),
-- is announced on channel session_clock once the transaction commits. The payload is the clock state
-- without server_now, so a listener can serve snapshots without asking again.
CREATE FUNCTION session_clock_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('session_clock', jsonb_build_object('session_id', OLD.id, 'deleted', true)::text);
    ELSE
        PERFORM pg_notify('session_clock',
            (session_clock_snapshot(NEW, NULL) - 'server_now' - 'elapsed_ms')::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_clock_notify
    AFTER INSERT OR DELETE OR UPDATE OF started_at, ended_at, is_paused, total_paused_ms, last_state_change_at
    ON sessions FOR EACH ROW EXECUTE FUNCTION session_clock_notify();
