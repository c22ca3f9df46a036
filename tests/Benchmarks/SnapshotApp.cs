using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoomReconciler.Clock;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// The ceiling for GET /clock/{id}: a bare Kestrel app holding every session's clock in memory, read once at start,
/// that answers each request with the snapshot at this moment, serialized as the daemon serializes it, and nothing else
/// (no token, no cache to miss, no filters, metrics or request log).
/// </summary>
public static class SnapshotApp
{
    public static async Task<(WebApplication App, Uri Address)> StartAsync(string connectionString)
    {
        var clocks = new Dictionary<Guid, ClockState>();
        await using (var database = NpgsqlDataSource.Create(connectionString))
        await using (var read = database.CreateCommand("SELECT session_clock_get(id)::text FROM sessions"))
        await using (var rows = await read.ExecuteReaderAsync())
            while (await rows.ReadAsync())
            {
                using var clock = JsonDocument.Parse(rows.GetString(0));
                var state = ClockState.FromJson(clock.RootElement);
                clocks[state.SessionId] = state;
            }
        var byId = clocks.ToFrozenDictionary();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ClockJsonContext.Default));
        var app = builder.Build();
        app.MapGet("/clock/{id:guid}", IResult (Guid id, HttpResponse response) =>
        {
            response.Headers.CacheControl = "no-store";
            return byId.TryGetValue(id, out var state)
                ? TypedResults.Ok(state.ToSnapshot(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
                : TypedResults.NotFound();
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return (app, address);
    }
}
