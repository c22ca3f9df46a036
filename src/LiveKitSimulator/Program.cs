using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace LiveKitSimulator;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // The LiveKit dev server's address, unless --urls says otherwise.
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls("http://127.0.0.1:7880");
        await using var server = SimulatorServer.Create(builder);
        await server.ListenAsync();
        Console.Out.WriteLine($"LiveKit simulator on {server.Url} (api key {server.ApiKey}; webhooks to {server.Webhooks.Url ?? "nowhere"})");
        await server.WaitForShutdownAsync();
        return 0;
    }
}
