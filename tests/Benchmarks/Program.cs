using RoomReconciler.Benchmarks;

// dotnet run -c Release --project tests/Benchmarks -- clock [--seconds=10]
// dotnet run -c Release --project tests/Benchmarks -- tick [--sessions=1000,10000,100000] [--budget-only] [--budgets=0,600]
// dotnet run -c Release --project tests/Benchmarks -- clock-get [--seconds=10]
// dotnet run -c Release --project tests/Benchmarks -- events [--seconds=10] [--events=20000]
// dotnet run -c Release --project tests/Benchmarks -- streams [--sessions=5000]
var command = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "clock";
var seconds = args.Select(a => a.StartsWith("--seconds=") && int.TryParse(a[10..], out var s) ? s : 0).FirstOrDefault(s => s > 0);
try
{
    switch (command)
    {
        case "clock":
            await ClockBenchmark.RunAsync(seconds > 0 ? seconds : 10);
            return 0;
        case "tick":
            var sizes = args.Where(a => a.StartsWith("--sessions=")).SelectMany(a => a[11..].Split(',')).Select(int.Parse).ToList();
            var budgets = args.Where(a => a.StartsWith("--budgets=")).SelectMany(a => a[10..].Split(',')).Select(int.Parse).ToList();
            await TickBenchmark.RunAsync(sizes.Count > 0 ? sizes : [1_000, 10_000, 100_000], ticks: 5, budgetOnly: args.Contains("--budget-only"),
                budgets: budgets.Count > 0 ? budgets : [0, TickBenchmark.DefaultBudget]);
            return 0;
        case "clock-get":
            await ClockGetBenchmark.RunAsync(seconds > 0 ? seconds : 10);
            return 0;
        case "events":
            var events = args.Select(a => a.StartsWith("--events=") && int.TryParse(a[9..], out var e) ? e : 0).FirstOrDefault(e => e > 0);
            await EventsBenchmark.RunAsync(seconds > 0 ? seconds : 10, events > 0 ? events : 20_000);
            return 0;
        case "streams":
            var streamSessions = args.Where(a => a.StartsWith("--sessions=")).Select(a => int.Parse(a[11..])).FirstOrDefault(5_000);
            await StreamsBenchmark.RunAsync(streamSessions);
            return 0;
        // The processes of the streams benchmark.
        case "ceiling":
            await CeilingApp.RunAsync(args[1], args[2]);
            return 0;
        case "stream-clients":
            await StreamClients.RunAsync(new Uri(args[1]), args[2]);
            return 0;
        default:
            Console.Error.WriteLine("usage: Benchmarks clock [--seconds=N] | tick [--sessions=N,N] [--budget-only] [--budgets=N,N] | clock-get [--seconds=N] | events [--seconds=N] [--events=N] | streams [--sessions=N]   (GET /clock/{id} under wrk vs pgbench session_clock_get, fixed 5k req/s, stream fan-out; ticks; session_clock_get vs a plain SQL version; a transition's commit with and without events, events delivered/s; streams: a storm of 2 streams a session and their RSS, daemon vs a bare ceiling)");
            return 2;
    }
}
catch (MissingToolException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

