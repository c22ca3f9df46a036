-- Recorded first; then names resolve in roomreconciler, then in the application's schema (where sessions is).
INSERT INTO roomreconciler.migrations (version, name) VALUES ('005', 'reconcile_apply');
SELECT set_config('search_path', 'roomreconciler, ' || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('sessions')), true);
-- ^ Added after this script was released (db/README.md, "Released scripts"); the script as released follows.
-- What LiveKit last said about the room itself, so that a poll asks for the participants of only the rooms
-- whose listing changed since the previous tick (whichever replica ran it).
ALTER TABLE session_presence
    ADD COLUMN room_sid              text,
    ADD COLUMN room_num_participants integer;

-- Applies every decision of one reconcile pass in one round trip. p_decisions is a JSON array of
--   {"session_id": uuid, "version": text, "presence_version": text|null,
--    "actions": [{"event": "started"|"paused"|"resumed", "at": timestamptz, "reason": text, "details": {...}}],
--    "presence": {"participants": [text], "below_since": timestamptz|null} | null,
--    "room": {"sid": text|null, "num_participants": int|null} | null}
-- A decision is applied only if neither the session's row nor its presence row changed since it was read
-- (their xmin is the version): a decision made on an old reading is skipped, never applied late, and the
-- next pass decides again. Rows are locked in session id order, so concurrent passes cannot deadlock.
CREATE FUNCTION session_reconcile_apply(p_decisions jsonb, p_source text)
    RETURNS TABLE (session_id uuid, outcome text, event_type text, effective_at timestamptz, created_at timestamptz)
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
            RETURN QUERY SELECT v_id, 'stale', NULL::text, NULL::timestamptz, NULL::timestamptz;
            CONTINUE;
        END IF;

        FOR a IN SELECT value FROM jsonb_array_elements(coalesce(d->'actions', '[]')) LOOP
            v_result := session_clock_transition(v_id, a->>'event', a->>'reason', (a->>'at')::timestamptz,
                                                 p_source, coalesce(a->'details', '{}'));
            IF (v_result->>'changed')::boolean THEN
                RETURN QUERY SELECT e.session_id, 'changed', e.event_type, e.effective_at, e.created_at
                             FROM session_events e WHERE e.session_id = v_id ORDER BY e.id DESC LIMIT 1;
            ELSE
                RETURN QUERY SELECT v_id, coalesce(v_result->>'error', 'unchanged'), a->>'event', NULL::timestamptz, NULL::timestamptz;
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
