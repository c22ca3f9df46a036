namespace RoomReconciler.Database;

/// <summary>
/// The migrations as Supabase CLI migrations, for a team that keeps its schema in <c>supabase/migrations</c> and applies
/// it with <c>supabase db push</c>. The CLI orders files by the digits before the first underscore and records each
/// version it applied in <c>supabase_migrations.schema_migrations</c>; it keeps no checksum.
/// </summary>
public static class SupabaseExport
{
    /// <summary>
    /// Every script's Supabase version is this date followed by its own number (V006 is 20261201000006): fixed, so that
    /// the same script keeps its version in every release and an upgrade only adds files. The date is the first release
    /// with the export; a project with migrations of its own dated later pushes ours with <c>--include-all</c>.
    /// </summary>
    private const string VersionDate = "20261201";

    public static string FileName(Script script) =>
        $"{VersionDate}{int.Parse(script.Version):D6}_roomreconciler_{script.Description}.sql";

    /// <returns>the files written, in version order</returns>
    public static IReadOnlyList<string> Write(IReadOnlyList<Script> scripts, string folder)
    {
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        foreach (var script in scripts)
        {
            var target = Path.Combine(folder, FileName(script));
            File.Copy(script.Path, target, overwrite: true);
            written.Add(target);
        }
        return written;
    }
}
