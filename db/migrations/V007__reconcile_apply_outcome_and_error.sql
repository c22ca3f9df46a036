-- Recorded first; then names resolve in roomreconciler, then in the application's schema (where sessions is).
INSERT INTO roomreconciler.migrations (version, name) VALUES ('007', 'reconcile_apply_outcome_and_error');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- Only the one who migrates writes the schema's history; the daemon reads it (V006 granted it every table).
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON roomreconciler.migrations FROM roomreconciler_daemon;
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
-- session_reconcile_apply as V005 made it, but what happened and why travel in columns of their own: V005 returned a
-- refused transition's error text in place of the outcome. Now outcome is one of 'changed', 'unchanged', 'stale',
-- 'rejected'; error says why a transition was rejected; and reason is the action's, so that the daemon reports a
-- transition without matching it back to its decision. Its return type changes, so it is dropped and made again;
-- the migrator runs this script with search_path "roomreconciler, <the application's schema>", so it is made in
-- roomreconciler, where V006 moved the old one.
DROP FUNCTION session_reconcile_apply(jsonb, text);

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

-- Privileges as V006 set them for every internal function: nobody but the owner from the start (whatever PUBLIC or
-- default privileges gave), the daemon may execute it, and its search_path is pinned with pg_catalog first.
DO $$
DECLARE
    v_app     name := (SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions'));
    v_grantee text;
BEGIN
    REVOKE ALL ON FUNCTION roomreconciler.session_reconcile_apply(jsonb, text) FROM PUBLIC;
    FOR v_grantee IN
        SELECT DISTINCT a.grantee::regrole::text FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
        WHERE p.oid = 'roomreconciler.session_reconcile_apply(jsonb, text)'::regprocedure AND a.grantee <> 0 AND a.grantee <> p.proowner
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION roomreconciler.session_reconcile_apply(jsonb, text) FROM %s', v_grantee);
    END LOOP;
    EXECUTE format('ALTER FUNCTION roomreconciler.session_reconcile_apply(jsonb, text) SET search_path = pg_catalog, roomreconciler, %I', v_app);
END;
$$;
GRANT EXECUTE ON FUNCTION roomreconciler.session_reconcile_apply(jsonb, text) TO roomreconciler_daemon;
