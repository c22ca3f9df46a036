using System.Diagnostics.Metrics;
using System.Reflection;
using Prometheus;

namespace RoomReconciler.Hosting;

/// <summary>
/// The daemon's own families (<see cref="Metrics"/>) as OpenTelemetry instruments, so that OTLP carries them as well as
/// /metrics: each counter and gauge is observed, with its labels, when the OTLP exporter collects; a histogram as its
/// _count and _sum. Found by reflection, so a counter added to Metrics is exported without a line here.
/// </summary>
public static class MetricsExport
{
    public const string MeterName = "RoomReconciler";

    private static readonly Lazy<Meter> Meter = new(Create);

    /// <summary>Creates the instruments once per process; OpenTelemetry then listens to <see cref="MeterName"/>.</summary>
    public static void EnsureCreated() => _ = Meter.Value;

    private static Meter Create()
    {
        var meter = new Meter(MeterName, Cli.Version);
        foreach (var collector in typeof(Metrics).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.GetValue(null)))
        {
            switch (collector)
            {
                case Counter c:
                    meter.CreateObservableCounter(c.Name, () => Observe(c, () => c.Value, child => child.Value), description: c.Help);
                    break;
                case Gauge g:
                    meter.CreateObservableGauge(g.Name, () => Observe(g, () => g.Value, child => child.Value), description: g.Help);
                    break;
                case Histogram h:
                    meter.CreateObservableCounter(h.Name + "_count", () => Observe(h, () => h.Count, child => child.Count), description: h.Help);
                    meter.CreateObservableCounter(h.Name + "_sum", () => Observe(h, () => h.Sum, child => child.Sum), description: h.Help);
                    break;
            }
        }
        return meter;
    }

    /// <param name="unlabelled">the value of a family without labels (the collector's own, as prometheus-net exposes it)</param>
    private static IEnumerable<Measurement<double>> Observe<TChild>(Collector<TChild> collector, Func<double> unlabelled, Func<TChild, double> read)
        where TChild : ChildBase
    {
        if (collector.LabelNames.Length == 0)
        {
            yield return new Measurement<double>(unlabelled());
            yield break;
        }
        foreach (var values in collector.GetAllLabelValues())
            yield return new Measurement<double>(read(collector.WithLabels(values)),
                collector.LabelNames.Zip(values, (name, value) => new KeyValuePair<string, object?>(name, value)).ToArray());
    }
}
