namespace RoomReconciler.Database;

/// <summary>`RoomReconciler migrations ...`: the migrations for other tools than `migrate` (db/README.md).</summary>
public static class MigrationsCommand
{
    public const string Usage = """
        Usage: RoomReconciler migrations <subcommand>
          export --supabase DIR   write the migrations into DIR as Supabase CLI migrations (<version>_roomreconciler_<name>.sql)
          functions FILE          write each function's definition in force (db/schema/functions.sql) from the migrations
          list                    the migrations shipped with this binary, in the order they apply
        """;

    /// <summary>The one flag a subcommand takes; it is a word here, not a configuration key.</summary>
    public const string SupabaseFlag = "--supabase";

    /// <returns>0 done; 1 the files cannot be read or written; 2 bad usage</returns>
    public static int Run(string migrationsFolder, IReadOnlyList<string> words, TextWriter output, TextWriter error)
    {
        try
        {
            switch (words)
            {
                case ["export", SupabaseFlag, var folder]:
                    foreach (var file in SupabaseExport.Write(Migrator.ScriptsIn(migrationsFolder), folder)) output.WriteLine(file);
                    return 0;
                case ["functions", var file]:
                    if (Path.GetDirectoryName(Path.GetFullPath(file)) is { } directory) Directory.CreateDirectory(directory);
                    File.WriteAllText(file, FunctionDefinitions.Generate(Migrator.ScriptsIn(migrationsFolder)));
                    output.WriteLine(file);
                    return 0;
                case ["list"]:
                    foreach (var script in Migrator.ScriptsIn(migrationsFolder)) output.WriteLine(script.Name);
                    return 0;
                default:
                    error.WriteLine($"migrations: {(words.Count == 0 ? "missing subcommand" : $"unknown or incomplete subcommand '{string.Join(' ', words)}'")}");
                    error.WriteLine();
                    error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MigrationException)
        {
            error.WriteLine($"migrations: {e.Message}");
            return 1;
        }
    }
}
