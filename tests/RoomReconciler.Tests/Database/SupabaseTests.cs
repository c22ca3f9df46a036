using System.Text.Json;
using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.Reconciliation;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

/// <summary>How the migrations reached the database: the three ways a Supabase team installs SQL.</summary>
public enum Install
{
    /// <summary>RoomReconciler migrate</summary>
    Migrate,
    /// <summary>every script with psql -1 -f, as the SQL editor runs a file</summary>
    Psql,
    /// <summary>RoomReconciler migrations export --supabase, then supabase db push</summary>
    SupabaseCli,
}

/// <summary>
/// Installed into a Supabase-like database (<see cref="SupabaseDatabase"/>) by its non-superuser owner, whose
/// search_path is Supabase's, in each of the ways a team installs SQL; then every path a browser has (PostgREST:
/// authenticator, then the request's role and JWT claims) is tried against the clock and its internals.
/// </summary>
[TestFixture(Install.Migrate)]
[TestFixture(Install.Psql)]
[TestFixture(Install.SupabaseCli)]
public sealed class SupabaseTests(Install install)
{
    private static readonly Guid Customer = Guid.Parse("0000000c-0000-0000-0000-000000000001");
    private static readonly Guid Stranger = Guid.Parse("0000000c-0000-0000-0000-000000000002");

    private SupabaseDatabase _db = null!;
    private Guid _own;     // a tracked, started session of Customer
    private Guid _other;   // a tracked, started session of Stranger

    private string? _secondPush;          // what a second `supabase db push` said
    private MigrationRun _laterMigrate = null!;
    private (string Before, string After) _schema;

    [OneTimeSetUp]
    public async Task InstallAsync()
    {
        _db = await SupabaseDatabase.CreateAsync();
        switch (install)
        {
            case Install.Migrate:
                new Migrator(_db.OwnerConnectionString, TestDatabase.MigrationsFolder).Migrate();
                break;
            case Install.Psql:
                await SqlTools.PsqlEveryScriptAsync(_db.OwnerConnectionString);
                break;
            case Install.SupabaseCli:
                var project = SqlTools.SupabaseProject();
                await SqlTools.SupabasePushAsync(project, _db.OwnerConnectionString);
                _secondPush = await SqlTools.SupabasePushAsync(project, _db.OwnerConnectionString);
                break;
        }
        // What `run` does at its first start as the owner (and `migrate` too): Quartz makes its tables.
        await ReconcilerRegistration.ProvisionQuartzSchemaAsync(_db.OwnerConnectionString, CancellationToken.None);
        _schema.Before = await SchemaAsync(_db.OwnerConnectionString);
        _laterMigrate = new Migrator(_db.OwnerConnectionString, TestDatabase.MigrationsFolder).Migrate();
        _schema.After = await SchemaAsync(_db.OwnerConnectionString);
        (_own, _other) = (Guid.NewGuid(), Guid.NewGuid());
        await TestDatabase.ExecuteAsync(_db.OwnerConnectionString, $"""
            INSERT INTO sessions (id, customer_id) VALUES ('{_own}', '{Customer}'), ('{_other}', '{Stranger}');
            SELECT session_clock_start(id, 'test') FROM sessions;
            """);
    }

    [Test]
    public void ALaterMigrate_ChangesNothing_AndRecordsWhatItFound()
    {
        Assert.That(_laterMigrate.Applied, Is.Empty, "nothing is applied again");
        Assert.That(_laterMigrate.Recorded, install == Install.Migrate ? Is.Empty
            : Is.EqualTo(Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Select(s => s.Name)), "what another tool applied is written into the changelog");
        Assert.That(_schema.After, Is.EqualTo(_schema.Before), "functions, tables, columns, privileges, triggers and policies as they were");
        if (install == Install.SupabaseCli)
            Assert.That(_secondPush, Does.Contain("Remote database is up to date"), "a second push applies nothing");
    }

    /// <summary>Everything a migration decides, in the application's schema and ours (Evolve's changelog aside).</summary>
    public static Task<string> SchemaAsync(string connectionString) => ScalarAsync<string>(connectionString, """
        SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
            SELECT format('function %s %s %s %s %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)), p.proacl, p.proconfig, p.prosecdef)
            FROM pg_proc p WHERE p.pronamespace IN ('public'::regnamespace, 'roomreconciler'::regnamespace)
            UNION ALL
            SELECT format('relation %s %s %s %s', c.oid::regclass, c.relkind, c.relacl, c.relrowsecurity) FROM pg_class c
            WHERE c.relnamespace IN ('public'::regnamespace, 'roomreconciler'::regnamespace) AND c.relname NOT LIKE 'changelog%'
            UNION ALL
            SELECT format('column %s.%s %s %s %s', c.oid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attacl, pg_get_expr(d.adbin, d.adrelid))
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace IN ('public'::regnamespace, 'roomreconciler'::regnamespace) AND c.relname NOT LIKE 'changelog%'
              AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT format('trigger %s %s', t.tgrelid::regclass, pg_get_triggerdef(t.oid)) FROM pg_trigger t WHERE NOT t.tgisinternal
            UNION ALL
            SELECT format('policy %s %s %s', p.polrelid::regclass, p.polname, p.polroles) FROM pg_policy p
            UNION ALL
            SELECT format('schema %s %s', n.nspname, n.nspacl) FROM pg_namespace n WHERE n.nspname IN ('public', 'roomreconciler')
            UNION ALL
            SELECT format('default %s %s', d.defaclnamespace::regnamespace, d.defaclacl) FROM pg_default_acl d
            UNION ALL
            SELECT format('recorded %s %s', m.version, m.name) FROM roomreconciler.migrations m) AS s(x)
        """);

    [Test]
    public async Task Install_PutsNothingOfOursOutsideItsSchema_WhateverTheSearchPath_AndRunAcceptsTheDatabase()
    {
        var pending = await new Migrator(_db.OwnerConnectionString, TestDatabase.MigrationsFolder).GetPendingAsync(CancellationToken.None);
        Assert.That(pending, Is.Empty, "`run` refuses a database with pending scripts");
        Assert.That(new Migrator(_db.OwnerConnectionString, TestDatabase.MigrationsFolder).GetStatus().IsCurrent, Is.True);
        var objects = await ScalarAsync<string[]>(_db.OwnerConnectionString, """
            SELECT array_agg(format('%s.%s', c.relnamespace::regnamespace, c.relname) ORDER BY 1) FROM pg_class c
            WHERE c.relkind IN ('r', 'p', 'v', 'm') AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
              AND c.relnamespace::regnamespace::text NOT LIKE 'pg_toast%'
              AND c.relnamespace <> 'roomreconciler'::regnamespace
              AND c.relnamespace::regnamespace::text <> 'supabase_migrations'
            """);
        Assert.That(objects, Is.EqualTo(new[] { "public.sessions" }), "nothing of ours outside roomreconciler but the clock columns");
        Assert.That(await ScalarAsync<long>(_db.OwnerConnectionString,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'roomreconciler'::regnamespace AND relname LIKE 'qrtz%'"), Is.GreaterThan(10),
            "Quartz's tables are internal too");
    }

    private static readonly string[] Forbidden =
    [
        "SELECT count(*) FROM roomreconciler.session_events",
        "INSERT INTO roomreconciler.session_events (session_id, event_type, effective_at, source) VALUES ('{own}', 'paused', now(), 'api')",
        "UPDATE roomreconciler.session_events SET reason = 'forged'",
        "DELETE FROM roomreconciler.session_events",
        "SELECT count(*) FROM roomreconciler.session_presence",
        "UPDATE roomreconciler.session_presence SET participants = '{}'",
        "SELECT count(*) FROM roomreconciler.livekit_webhook_events",
        "UPDATE roomreconciler.qrtz_triggers SET trigger_state = 'PAUSED'",
        "DELETE FROM roomreconciler.qrtz_locks",
        "SELECT count(*) FROM roomreconciler.changelog",
        "SELECT count(*) FROM roomreconciler.livekit_requests",
        "INSERT INTO roomreconciler.livekit_requests (spent_at, calls) VALUES (now(), 1000)",
        "DELETE FROM roomreconciler.livekit_requests",
        "SELECT * FROM roomreconciler.livekit_budget_take(1, 600, interval '1 minute')",
        "SELECT roomreconciler.livekit_budget_hold(interval '1 minute', 600, interval '1 minute')",
        "SELECT count(*) FROM roomreconciler.migrations",
        "INSERT INTO roomreconciler.migrations (version, name) VALUES ('999', 'forged')",
        "SELECT roomreconciler.session_reconcile_apply('[]', 'poll')",
        // The outbound events' outbox: neither readable (payloads of every session) nor forgeable.
        "SELECT count(*) FROM roomreconciler.event_outbox",
        "INSERT INTO roomreconciler.event_outbox (event_id, session_id, sequence, event_type, payload, session_event_id) VALUES (gen_random_uuid(), '{own}', 99, 'session.ended', '\\x7b7d', 1)",
        "SELECT count(*) FROM roomreconciler.event_deliveries",
        "UPDATE roomreconciler.event_deliveries SET acknowledged_at = now()",
        "INSERT INTO roomreconciler.event_endpoints (id, url) VALUES (9, 'https://attacker.example/hook')",
        "UPDATE roomreconciler.event_endpoints SET url = 'https://attacker.example/hook'",
        "SELECT roomreconciler.session_clock_transition('{own}', 'paused', 'x', NULL, 'api')",
        "SELECT session_clock_pause('{own}', 'x')",
        "SELECT session_clock_resume('{own}', 'x')",
        "SELECT session_clock_start('{own}', 'x')",
        "SELECT session_clock_end('{own}', 'x')",
        // The application's own policy lets a participant update their row; the clock columns stay the clock's.
        "UPDATE sessions SET is_paused = true WHERE id = '{own}'",
        "UPDATE sessions SET total_paused_ms = 1 WHERE id = '{own}'",
        "UPDATE sessions SET ended_at = now() WHERE id = '{own}'",
        "UPDATE sessions SET started_at = now() WHERE id = '{own}'",
        "UPDATE sessions SET last_state_change_at = now() WHERE id = '{own}'",
        "UPDATE sessions SET clock_tracked = false WHERE id = '{own}'",
        "INSERT INTO sessions (id, customer_id, started_at) VALUES (gen_random_uuid(), '{customer}', now() - interval '1 hour')",
        "INSERT INTO sessions (id, customer_id, clock_tracked) VALUES (gen_random_uuid(), '{customer}', false)",
    ];

    [Test]
    public async Task ClientRoles_ReachNothingButTheirOwnClock([Values("anon", "authenticated")] string role, [Range(0, 36)] int statement)
    {
        Assert.That(Forbidden, Has.Length.EqualTo(37));
        var sql = Forbidden[statement].Replace("{own}", _own.ToString()).Replace("{customer}", Customer.ToString());
        var before = await StateAsync();
        var (error, rows) = await AsClientAsync(role, Customer, sql);
        if (error is null && sql.StartsWith("UPDATE sessions", StringComparison.Ordinal) && role == "anon")
            Assert.That(rows, Is.Zero, "the application's RLS hides every session from anon");
        else Assert.That(error?.SqlState, Is.AnyOf(PostgresErrorCodes.InsufficientPrivilege, PostgresErrorCodes.UndefinedFunction,
            PostgresErrorCodes.UndefinedTable), $"{role} may run: {sql} ({error?.MessageText})");
        Assert.That(await StateAsync(), Is.EqualTo(before), "nothing changed");
    }

    [Test]
    public async Task Authenticated_ReadsItsOwnClock_AndStillEditsItsOwnRowOutsideTheClock()
    {
        Assert.That(await AsClientAsync("authenticated", Customer, $"UPDATE sessions SET note = 'running late' WHERE id = '{_own}'"), Is.EqualTo(((PostgresException?)null, 1)),
            "the application's own policy still works for its own columns");
        Assert.That(await AsClientAsync("authenticated", Customer, $"INSERT INTO sessions (id, customer_id) VALUES (gen_random_uuid(), '{Customer}')"),
            Is.EqualTo(((PostgresException?)null, 1)), "a participant may still book a session, with a blank clock");

        var own = await ClockAsClientAsync("authenticated", Customer, _own);
        Assert.That(own?.GetProperty("started_at").ValueKind, Is.EqualTo(JsonValueKind.String), "session_clock_get serves the caller's own session");
        Assert.That(await ClockAsClientAsync("authenticated", Customer, _other), Is.Null, "the application's RLS hides other sessions");
        Assert.That(await ClockAsClientAsync("anon", Customer, _own), Is.Null, "anon sees what the application's RLS lets it see: nothing");
    }

    [Test]
    public async Task ServerRole_StillMovesTheClock()
    {
        var session = Guid.NewGuid();
        await TestDatabase.ExecuteAsync(_db.OwnerConnectionString, $"""
            INSERT INTO sessions (id, customer_id) VALUES ('{session}', '{Customer}');
            SELECT session_clock_start('{session}', 'test');
            """);
        Assert.That((await AsClientAsync("service_role", null, $"SELECT session_clock_pause('{session}', 'server')")).Error, Is.Null);
        Assert.That((await AsClientAsync("service_role", null, $"UPDATE sessions SET total_paused_ms = total_paused_ms + 1 WHERE id = '{session}'")).Error, Is.Null);
        Assert.That(await ScalarAsync<bool>(_db.OwnerConnectionString, $"SELECT is_paused FROM sessions WHERE id = '{session}'"), Is.True);
    }

    /// <summary>
    /// Splinter's security lints (supabase/splinter: rls_disabled_in_public, function_search_path_mutable,
    /// security_definer_view, and SECURITY DEFINER functions executable by the API roles), as catalog queries over
    /// the schemas PostgREST exposes (public) and ours.
    /// </summary>
    public const string LintsSql = """
        SELECT 'rls_disabled_in_public ' || format('%s.%s', c.relnamespace::regnamespace, c.relname)
        FROM pg_class c
        WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND c.relnamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'function_search_path_mutable ' || p.oid::regprocedure::text
        FROM pg_proc p
        WHERE p.pronamespace IN ('public'::regnamespace, coalesce(to_regnamespace('roomreconciler'), 'public'::regnamespace))
          AND NOT EXISTS (SELECT FROM unnest(coalesce(p.proconfig, '{}')) cfg WHERE cfg LIKE 'search_path=%')
        UNION ALL
        SELECT 'security_definer_view ' || c.oid::regclass::text
        FROM pg_class c
        WHERE c.relkind = 'v' AND c.relnamespace = 'public'::regnamespace
          AND NOT coalesce(c.reloptions @> '{security_invoker=true}', false)
        UNION ALL
        SELECT 'security_definer_function_executable ' || r.rolname || ' ' || p.oid::regprocedure::text
        FROM pg_proc p CROSS JOIN pg_roles r
        WHERE p.prosecdef AND r.rolname IN ('anon', 'authenticated')
          AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
          AND (p.pronamespace = 'public'::regnamespace OR has_schema_privilege(r.oid, p.pronamespace, 'USAGE'))
          AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        ORDER BY 1
        """;

    [Test]
    public async Task SplintersSecurityLints_AreClean()
    {
        var lints = await ScalarAsync<string[]?>(_db.OwnerConnectionString, $"SELECT array_agg(l) FROM ({LintsSql}) AS x(l)");
        Assert.That(lints ?? [], Is.Empty);

        var clientGrants = await ScalarAsync<string[]>(_db.OwnerConnectionString, """
            SELECT array_agg(format('%s %s', r.rolname, x.what) ORDER BY 1)
            FROM pg_roles r CROSS JOIN LATERAL (
                SELECT 'USAGE roomreconciler' AS what WHERE has_schema_privilege(r.oid, 'roomreconciler', 'USAGE')
                UNION ALL
                SELECT 'EXECUTE ' || p.proname FROM pg_proc p
                WHERE p.pronamespace IN ('public'::regnamespace, 'roomreconciler'::regnamespace) AND has_function_privilege(r.oid, p.oid, 'EXECUTE')) x
            WHERE r.rolname IN ('anon', 'authenticated')
            """);
        Assert.That(clientGrants, Is.EqualTo(new[] { "anon EXECUTE session_clock_get", "authenticated EXECUTE session_clock_get" }));
    }

    /// <summary>`run` as a login role that owns nothing and holds only roomreconciler_daemon.</summary>
    [Test]
    public async Task Daemon_RunsAsARoleThatOwnsNothing()
    {
        var login = $"rr_daemon_{Guid.NewGuid():N}"[..24];
        await TestDatabase.ExecuteAsync(_db.AdminConnectionString, $"CREATE ROLE {login} LOGIN PASSWORD '{SupabaseDatabase.Password}'; GRANT roomreconciler_daemon TO {login};");
        var daemon = _db.ConnectionString(login);
        var session = Guid.NewGuid();
        await TestDatabase.ExecuteAsync(_db.OwnerConnectionString, $"INSERT INTO sessions (id, customer_id) VALUES ('{session}', '{Customer}')");

        Assert.That(await new Migrator(daemon, TestDatabase.MigrationsFolder).GetPendingAsync(CancellationToken.None), Is.Empty);
        Assert.That(new Migrator(daemon, TestDatabase.MigrationsFolder).GetStatus().Describe(), Does.Contain("current"));
        Assert.That(async () => await TestDatabase.ExecuteAsync(daemon, "INSERT INTO roomreconciler.migrations (version, name) VALUES ('999', 'forged')"),
            Throws.TypeOf<PostgresException>().With.Property(nameof(PostgresException.SqlState)).EqualTo(PostgresErrorCodes.InsufficientPrivilege),
            "the daemon reads the database's record of its migrations and cannot forge it");
        await using var source = NpgsqlDataSource.Create(daemon);
        var outbox = new RoomReconciler.Events.OutboxStore(source);
        await outbox.SyncEndpointsAsync([new RoomReconciler.Events.EventEndpointOptions { Url = "http://127.0.0.1:9/events" }], CancellationToken.None);
        var store = new SessionStore(source);
        var reading = (await store.LoadAsync(session, CancellationToken.None)).Sessions.Single();
        var applied = await store.ApplyAsync([new PendingDecision(reading,
            new Decision([new ClockAction(ClockTransition.Started, DateTimeOffset.UtcNow, "test")], new Presence(["a", "b"], null), null), "RM_1", 2)],
            ClockSource.Poll, CancellationToken.None);
        Assert.That(applied.Select(a => a.Outcome), Is.EqualTo(new[] { ApplyOutcome.Changed }));
        // Outbound events: the transition wrote its event, and the daemon claims, acknowledges, lists and replays it.
        var claim = (await outbox.ClaimAsync(10, 1, TimeSpan.FromSeconds(30), CancellationToken.None)).Single();
        Assert.That((claim.SessionId, claim.Sequence, claim.Attempt), Is.EqualTo((session, 1L, 1)));
        await outbox.AcknowledgeAsync(claim, 204, CancellationToken.None);
        Assert.That((await outbox.StatusAsync(CancellationToken.None)).Single().Backlog, Is.Zero);
        Assert.That(await outbox.ReplayAsync(0, null, 1, CancellationToken.None), Is.EqualTo(1));
        await outbox.DisableAsync((await outbox.ClaimAsync(10, 1, TimeSpan.FromSeconds(30), CancellationToken.None)).Single(), "410 Gone", CancellationToken.None);
        Assert.That((await outbox.StatusAsync(CancellationToken.None)).Single().DisabledAt, Is.Not.Null);
        Assert.That(await new RoomReconciler.LiveKit.WebhookEventStore(source, TimeProvider.System).TryRecordAsync(
            new RoomReconciler.LiveKit.WebhookEvent { Id = "EV_" + Guid.NewGuid().ToString("N"), Event = "room_started" }, CancellationToken.None), Is.True);
        var timeline = await new RoomReconciler.Timeline.TimelineStore(source).LoadAsync(session, CancellationToken.None);
        Assert.That(timeline?.Events, Has.Count.EqualTo(1));
        // Quartz's clustered store: check-in and locks on its tables, which `migrate` made.
        await ReconcilerRegistration.ProvisionQuartzSchemaAsync(daemon, CancellationToken.None);

        // And the real host as that role: Quartz, the LISTEN connection, readiness and the clock API.
        await using var host = await Clock.ClockHost.StartAsync(daemon);
        using (var ready = await host.Client.GetAsync("/readyz"))
            Assert.That(ready.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), await ready.Content.ReadAsStringAsync());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/clock/{session}")
        {
            Headers = { { "Authorization", "Bearer " + Clock.ClockHost.Token(session) } },
        };
        using var answer = await host.Client.SendAsync(request);
        var clock = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        Assert.That(clock.GetProperty("started_at").ValueKind, Is.EqualTo(JsonValueKind.String), "the clock the daemon started");
    }

    private async Task<string> StateAsync() => await ScalarAsync<string>(_db.OwnerConnectionString, """
        SELECT concat_ws('|',
            (SELECT string_agg(concat_ws(',', id, started_at, ended_at, is_paused, total_paused_ms, last_state_change_at, clock_tracked), ';' ORDER BY id) FROM sessions),
            (SELECT string_agg(concat_ws(',', id, reason), ';' ORDER BY id) FROM roomreconciler.session_events),
            (SELECT count(*) FROM roomreconciler.qrtz_locks),
            (SELECT count(*) FROM roomreconciler.livekit_requests),
            (SELECT string_agg(version, ',' ORDER BY version) FROM roomreconciler.migrations),
            (SELECT string_agg(trigger_state, ',') FROM roomreconciler.qrtz_triggers),
            (SELECT string_agg(concat_ws(',', id, url), ';' ORDER BY id) FROM roomreconciler.event_endpoints),
            (SELECT count(*) FROM roomreconciler.event_outbox),
            (SELECT string_agg(concat_ws(',', event_id, acknowledged_at), ';' ORDER BY event_id) FROM roomreconciler.event_deliveries))
        """);

    /// <summary>One statement as PostgREST runs a request: as authenticator, in a transaction, with the role and claims set.</summary>
    /// <returns>the error, or null and the rows affected when the statement ran (its transaction is committed, as PostgREST would)</returns>
    private async Task<(PostgresException? Error, int Rows)> AsClientAsync(string role, Guid? sub, string sql)
    {
        await using var connection = new NpgsqlConnection(_db.ConnectionString(SupabaseDatabase.Authenticator));
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await BecomeAsync(connection, transaction, role, sub);
        try
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            var rows = await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            return (null, rows);
        }
        catch (PostgresException e) { return (e, 0); }
    }

    private async Task<JsonElement?> ClockAsClientAsync(string role, Guid sub, Guid session)
    {
        await using var connection = new NpgsqlConnection(_db.ConnectionString(SupabaseDatabase.Authenticator));
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await BecomeAsync(connection, transaction, role, sub);
        await using var command = new NpgsqlCommand("SELECT session_clock_get($1)::text", connection, transaction);
        command.Parameters.AddWithValue(session);
        return await command.ExecuteScalarAsync() is string json ? JsonDocument.Parse(json).RootElement.Clone() : null;
    }

    private static async Task BecomeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string role, Guid? sub)
    {
        await using var setup = new NpgsqlCommand(
            "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", connection, transaction);
        setup.Parameters.AddWithValue(role);
        setup.Parameters.AddWithValue(sub is { } id ? $$"""{"sub":"{{id}}","role":"{{role}}"}""" : $$"""{"role":"{{role}}"}""");
        await setup.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull or null ? default! : (T)value;
    }
}

/// <summary>Upgrades of a Supabase-like database that an earlier release installed.</summary>
public sealed class SupabaseUpgradeTests
{
    [Test]
    public async Task SplintersSecurityLints_FireOnTheSchemaBeforeThisInstall()
    {
        var db = await SupabaseDatabase.CreateAsync();
        await MigrationTests.InstallBeforeTheInternalSchemaAsync(db.OwnerConnectionString);
        var lints = await SupabaseTests.ScalarAsync<string[]>(db.OwnerConnectionString, $"SELECT array_agg(l) FROM ({SupabaseTests.LintsSql}) AS x(l)");
        // Our three tables, the changelog and Quartz's one table here (15 with Quartz's own provisioning).
        Assert.That(lints.Count(l => l.StartsWith("rls_disabled_in_public ")), Is.EqualTo(5), string.Join("\n", lints));
        Assert.That(lints.Count(l => l.StartsWith("function_search_path_mutable ")), Is.EqualTo(10), string.Join("\n", lints));

        // And upgrading that install clears them, moving the internals out of public.
        new Migrator(db.OwnerConnectionString, TestDatabase.MigrationsFolder).Migrate();
        Assert.That(await SupabaseTests.ScalarAsync<string[]?>(db.OwnerConnectionString, $"SELECT array_agg(l) FROM ({SupabaseTests.LintsSql}) AS x(l)") ?? [], Is.Empty);
    }

    [Test]
    public async Task AnInstallThatEvolvePutInTheSchemaNamedBackslash_IsRecognised()
    {
        var db = await SupabaseDatabase.CreateAsync();
        await MigrationTests.InstallBeforeTheInternalSchemaAsync(db.OwnerConnectionString, rolesSearchPath: true);
        var before = await SupabaseTests.ScalarAsync<string>(db.OwnerConnectionString,
            "SELECT string_agg(c.relnamespace::regnamespace::text, ',') FROM pg_class c WHERE c.relname = 'changelog'");
        Assert.That(before, Is.Not.EqualTo("public").And.Not.EqualTo("roomreconciler"), "the old release's changelog landed in a stray schema");

        var applied = new Migrator(db.OwnerConnectionString, TestDatabase.MigrationsFolder).Migrate().Applied;

        Assert.That(applied, Is.EqualTo(MigrationTests.ScriptsFrom("V006")));
        Assert.That(await new Migrator(db.OwnerConnectionString, TestDatabase.MigrationsFolder).GetPendingAsync(CancellationToken.None), Is.Empty);
        Assert.That(await SupabaseTests.ScalarAsync<string>(db.OwnerConnectionString,
            "SELECT string_agg(c.relnamespace::regnamespace::text, ',') FROM pg_class c WHERE c.relname = 'changelog'"), Is.EqualTo("roomreconciler"));
    }

    /// <summary>A project that pushed an earlier release's export, then exports the next release: only the new files apply.</summary>
    [Test]
    public async Task ASupabaseProjectUpgrading_PushesOnlyTheNewScripts()
    {
        var db = await SupabaseDatabase.CreateAsync();
        var project = SqlTools.SupabaseProject();
        var migrations = Path.Combine(project, "supabase", "migrations");
        var later = Directory.GetFiles(migrations).Order(StringComparer.Ordinal).Skip(5).ToList();
        var aside = Directory.CreateTempSubdirectory("roomreconciler-next-release-").FullName;
        foreach (var file in later) File.Move(file, Path.Combine(aside, Path.GetFileName(file)));
        await SqlTools.SupabasePushAsync(project, db.OwnerConnectionString);

        SupabaseExport.Write(Migrator.ScriptsIn(TestDatabase.MigrationsFolder), migrations);
        var output = await SqlTools.SupabasePushAsync(project, db.OwnerConnectionString);

        Assert.That(System.Text.RegularExpressions.Regex.Matches(output, @"Applying migration (\S+)\.\.\.").Select(m => m.Groups[1].Value),
            Is.EqualTo(later.Select(Path.GetFileName)), output);
        Assert.That(await SupabaseTests.ScalarAsync<string[]>(db.OwnerConnectionString, $"SELECT array_agg(version ORDER BY version) FROM {Migrator.QualifiedHistory}"),
            Is.EqualTo(Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Select(s => s.Version)));
    }
}
