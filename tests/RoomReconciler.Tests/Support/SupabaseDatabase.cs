using Npgsql;

namespace RoomReconciler.Tests.Support;

/// <summary>
/// A database set up the way Supabase sets one up (supabase/postgres migrations/db/init-scripts and
/// migrations/db/migrations), reduced to what decides privileges and name resolution:
/// <list type="bullet">
/// <item>the API roles <c>anon</c>, <c>authenticated</c> (NOLOGIN NOINHERIT) and <c>service_role</c> (BYPASSRLS),
/// and <c>authenticator</c>, the NOINHERIT login PostgREST connects as before it switches role per request;</item>
/// <item>USAGE on public for all of them, and the default privileges that grant ALL on every table, function and
/// sequence the owner creates in public to anon, authenticated and service_role;</item>
/// <item>the owner that runs migrations: not a superuser, CREATEROLE, with search_path literally
/// <c>"\$user", public, extensions</c>.</item>
/// </list>
/// Supabase's owner is called <c>postgres</c>, which in this throwaway cluster is the bootstrap superuser, so here it
/// is <see cref="Owner"/>. The application's sessions table has row level security and the common policy that lets a
/// participant read and update their own row (<c>customer_id</c> = the JWT's <c>sub</c>).
/// </summary>
public sealed class SupabaseDatabase
{
    public const string Owner = "supabase_owner";
    public const string Authenticator = "authenticator";
    public const string Password = "test";

    private static readonly SemaphoreSlim RolesGate = new(1, 1);
    private static bool _rolesReady;

    public required string Name { get; init; }
    public required string AdminConnectionString { get; init; }

    public string ConnectionString(string user) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString) { Username = user, Password = Password }.ConnectionString;

    public string OwnerConnectionString => ConnectionString(Owner);

    /// <summary>A new Supabase-like database holding the application's sessions table (not migrated).</summary>
    public static async Task<SupabaseDatabase> CreateAsync()
    {
        await EnsureRolesAsync();
        var admin = await TestDatabase.CreateEmptyAsync();
        var name = new NpgsqlConnectionStringBuilder(admin).Database!;
        await TestDatabase.ExecuteAsync(admin, $"""
            ALTER DATABASE "{name}" OWNER TO {Owner};
            ALTER SCHEMA public OWNER TO {Owner};
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            CREATE SCHEMA extensions AUTHORIZATION {Owner};
            GRANT USAGE ON SCHEMA public, extensions TO anon, authenticated, service_role;
            ALTER DEFAULT PRIVILEGES FOR ROLE {Owner} IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
            ALTER DEFAULT PRIVILEGES FOR ROLE {Owner} IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
            ALTER DEFAULT PRIVILEGES FOR ROLE {Owner} IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
            """);
        var db = new SupabaseDatabase { Name = name, AdminConnectionString = admin };
        await TestDatabase.ExecuteAsync(db.OwnerConnectionString, """
            CREATE TABLE public.sessions (
                id          uuid PRIMARY KEY,
                customer_id uuid NOT NULL,
                note        text
            );
            ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;
            CREATE POLICY participants_read_own ON public.sessions FOR SELECT TO authenticated
                USING (customer_id = (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid);
            CREATE POLICY participants_update_own ON public.sessions FOR UPDATE TO authenticated
                USING (customer_id = (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid);
            CREATE POLICY participants_insert_own ON public.sessions FOR INSERT TO authenticated
                WITH CHECK (customer_id = (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid);
            """);
        return db;
    }

    // Roles belong to the cluster, not to one database: made once per run, by one test at a time.
    private static async Task EnsureRolesAsync()
    {
        await RolesGate.WaitAsync();
        try
        {
            if (_rolesReady) return;
            await TestDatabase.ExecuteAsync(TestDatabase.AdminConnectionString, $$"""
                DO $$
                BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
                        CREATE ROLE anon NOLOGIN NOINHERIT;
                        CREATE ROLE authenticated NOLOGIN NOINHERIT;
                        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
                        CREATE ROLE {{Authenticator}} LOGIN NOINHERIT PASSWORD '{{Password}}';
                        GRANT anon, authenticated, service_role TO {{Authenticator}};
                        CREATE ROLE {{Owner}} LOGIN CREATEROLE CREATEDB BYPASSRLS PASSWORD '{{Password}}';
                        GRANT anon, authenticated, service_role TO {{Owner}};
                        ALTER ROLE {{Owner}} SET search_path TO "\$user", public, extensions;
                    END IF;
                END;
                $$
                """);
            _rolesReady = true;
        }
        finally { RolesGate.Release(); }
    }
}
