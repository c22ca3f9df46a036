using Microsoft.Extensions.DependencyInjection.Extensions;
using RoomReconciler.Hosting;

namespace RoomReconciler.Events;

public static class EventsRegistration
{
    /// <summary>The outbox's delivery; with no endpoint configured it syncs that fact and stops, writing nothing.</summary>
    public static IServiceCollection AddEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddKeyedOptions<EventsOptions>(configuration);
        services.AddSingleton<OutboxStore>();
        services.AddMetrics().TryAddSingleton<EventMetrics>();
        services.TryAddSingleton(TimeProvider.System);
        // No resilience handler: a failed attempt is retried on Events:RetrySchedule, from the database, not here.
        services.AddHttpClient(EventDelivery.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan).RemoveAllLoggers();
        services.AddHostedService<EventDelivery>();
        return services;
    }
}
