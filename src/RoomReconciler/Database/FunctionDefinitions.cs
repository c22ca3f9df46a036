using System.Text;
using System.Text.RegularExpressions;

namespace RoomReconciler.Database;

/// <summary>
/// db/schema/functions.sql: each function's definition in force, taken from the last script that creates it, with the
/// comment above it and any later ALTER FUNCTION of it. The migrations stay the history (an old install replays
/// them in order); this file is where a reader finds what a function does now. It is generated, never edited:
/// <c>RoomReconciler migrations functions FILE</c> writes it and a test fails when it differs from the migrations.
/// </summary>
public static partial class FunctionDefinitions
{
    public const string Header = """
        -- GENERATED from db/migrations by `RoomReconciler migrations functions db/schema/functions.sql`; do not edit.
        -- Each function of RoomReconciler as the last migration that creates it defines it, with that migration's comment,
        -- in name order. Schemas: session_clock_get/pause/resume/start/end live in the application's schema (the contract);
        -- every other one in roomreconciler. Privileges and each function's pinned search_path are set by the privilege
        -- blocks of V006 (and of the script that last made the function), not shown here.

        """;

    /// <summary>The file's text for these scripts, in version order.</summary>
    public static string Generate(IReadOnlyList<Script> scripts)
    {
        var latest = new SortedDictionary<string, (Script Script, List<string> Statements)>(StringComparer.Ordinal);
        foreach (var script in scripts)
            foreach (var statement in Statements(File.ReadAllText(script.Path)))
            {
                var code = Code(statement);
                if (CreateFunction().Match(code) is { Success: true } create)
                    latest[Unqualified(create.Groups["name"].Value)] = (script, [statement]);
                else if (DropFunction().Match(code) is { Success: true } drop)
                    latest.Remove(Unqualified(drop.Groups["name"].Value));
                else if (AlterFunction().Match(code) is { Success: true } alter && latest.TryGetValue(Unqualified(alter.Groups["name"].Value), out var entry))
                    entry.Statements.Add(statement);
            }
        var text = new StringBuilder(Header);
        foreach (var (name, (script, statements)) in latest)
        {
            text.Append($"\n-- {name}: {script.Name}\n");
            foreach (var statement in statements) text.Append(WithItsComment(statement)).Append(";\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// The statements of a script, each with the comment lines before it and without its closing semicolon: split at
    /// semicolons outside quotes, dollar quotes and comments (a BEGIN ATOMIC body would need more, and none is used).
    /// </summary>
    public static IReadOnlyList<string> Statements(string sql)
    {
        var statements = new List<string>();
        var start = 0;
        for (var i = 0; i < sql.Length; i++)
        {
            if (sql[i] == '-' && i + 1 < sql.Length && sql[i + 1] == '-') i = End(sql.IndexOf('\n', i));
            else if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*') i = End(sql.IndexOf("*/", i + 2, StringComparison.Ordinal)) + 1;
            else if (sql[i] == '\'') i = End(sql.IndexOf('\'', i + 1));
            else if (sql[i] == '$' && DollarTag().Match(sql, i) is { Success: true } tag && tag.Index == i)
                i = End(sql.IndexOf(tag.Value, i + tag.Length, StringComparison.Ordinal)) + tag.Length - 1;
            else if (sql[i] == ';')
            {
                statements.Add(sql[start..i]);
                start = i + 1;
            }
        }
        if (sql[start..].Trim().Length > 0 && Code(sql[start..]).Trim().Length > 0) statements.Add(sql[start..]);
        return statements;

        int End(int index) => index < 0 ? sql.Length - 1 : index;
    }

    /// <summary>A statement without its leading comment lines.</summary>
    private static string Code(string statement) =>
        string.Join('\n', statement.Split('\n').SkipWhile(l => l.TrimStart().StartsWith("--", StringComparison.Ordinal) || l.Trim().Length == 0));

    /// <summary>A statement with the comment lines directly above it (a blank line ends a comment that belongs elsewhere).</summary>
    private static string WithItsComment(string statement)
    {
        var lines = statement.Split('\n');
        var code = lines.Length - Code(statement).Split('\n').Length;
        var comment = code;
        while (comment > 0 && lines[comment - 1].TrimStart().StartsWith("--", StringComparison.Ordinal)) comment--;
        return string.Join('\n', lines[comment..]).TrimEnd('\n');
    }

    private static string Unqualified(string name) => name[(name.LastIndexOf('.') + 1)..];

    [GeneratedRegex(@"^CREATE\s+(OR\s+REPLACE\s+)?FUNCTION\s+(?<name>[\w.]+)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex CreateFunction();

    [GeneratedRegex(@"^DROP\s+FUNCTION\s+(IF\s+EXISTS\s+)?(?<name>[\w.]+)", RegexOptions.IgnoreCase)]
    private static partial Regex DropFunction();

    [GeneratedRegex(@"^ALTER\s+FUNCTION\s+(?<name>[\w.]+)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex AlterFunction();

    [GeneratedRegex(@"\$[A-Za-z_]*\$")]
    private static partial Regex DollarTag();
}
