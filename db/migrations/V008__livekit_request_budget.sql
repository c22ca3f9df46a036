INSERT INTO roomreconciler.migrations (version, name) VALUES ('008', 'livekit_request_budget');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- The LiveKit request budget that every replica shares (LiveKit:RequestsPerMinute): LiveKit Cloud limits a whole
-- project's server API calls per minute, so the count must outlive any one replica and be the same for all of them.
-- One row per grant: when it was granted, in database time, and how many calls. A sliding window over these rows is
-- exact ("in no window more than the budget"), and the table never holds more than one window's grants.
CREATE TABLE livekit_requests (
    spent_at timestamptz NOT NULL,
    calls    integer     NOT NULL CHECK (calls > 0)
);
CREATE INDEX livekit_requests_spent_at ON livekit_requests (spent_at);

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

-- Privileges as V006 set them for everything internal: nobody but the owner from the start (whatever PUBLIC or
-- default privileges gave), the daemon may use it, and each function's search_path is pinned with pg_catalog first.
DO $$
DECLARE
    v_app     name := (SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions'));
    v_grantee text;
    v_fn      regprocedure;
BEGIN
    REVOKE ALL ON TABLE roomreconciler.livekit_requests FROM PUBLIC;
    FOR v_grantee IN
        SELECT DISTINCT a.grantee::regrole::text FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
        WHERE c.oid = 'roomreconciler.livekit_requests'::regclass AND a.grantee <> 0 AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL ON TABLE roomreconciler.livekit_requests FROM %s', v_grantee);
    END LOOP;
    FOREACH v_fn IN ARRAY ARRAY['roomreconciler.livekit_budget_take(integer, integer, interval)'::regprocedure,
                                'roomreconciler.livekit_budget_hold(interval, integer, interval)'::regprocedure]
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_fn);
        FOR v_grantee IN
            SELECT DISTINCT a.grantee::regrole::text FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
            WHERE p.oid = v_fn AND a.grantee <> 0 AND a.grantee <> p.proowner
        LOOP
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', v_fn, v_grantee);
        END LOOP;
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, roomreconciler, %I', v_fn, v_app);
    END LOOP;
END;
$$;
GRANT SELECT, INSERT, DELETE ON TABLE roomreconciler.livekit_requests TO roomreconciler_daemon;
GRANT EXECUTE ON FUNCTION roomreconciler.livekit_budget_take(integer, integer, interval) TO roomreconciler_daemon;
GRANT EXECUTE ON FUNCTION roomreconciler.livekit_budget_hold(interval, integer, interval) TO roomreconciler_daemon;
