using System.Diagnostics.Metrics;
using Prometheus;
using RoomReconciler.Clock;
using RoomReconciler.Events;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Hosting;

/// <summary>
/// One host's metrics, exported: the features' instruments (<see cref="ReconcilerMetrics"/>, <see cref="LiveKitMetrics"/>,
/// <see cref="ClockMetrics"/>, <see cref="EventMetrics"/>), created from this host's <see cref="IMeterFactory"/>, recorded into this host's own
/// Prometheus <see cref="Registry"/> (served on /metrics with the process' families) and from there observed by the
/// <see cref="MeterName"/> meter that OpenTelemetry sends over OTLP (<see cref="Telemetry"/>).
/// </summary>
/// <remarks>
/// Why prometheus-net for the text rather than OpenTelemetry's Prometheus exporter: the families, their types and labels
/// are a contract (docs/operations.md, deploy/grafana, deploy/prometheus), and prometheus-net writes them as they were: counters as
/// counters with their _total, every family declared from the start even before its first sample, no otel_scope_*
/// labels on every series, and the process_*/dotnet_* families. Why the OTLP meter reads the registry rather than the
/// features' meters: OTLP has carried a histogram as its _count and _sum (docs/operations.md), and it keeps doing so.
/// The listener takes only meters of this host's factory, so two hosts in one process never count into each other.
/// </remarks>
public sealed class MetricsExport : IDisposable
{
    /// <summary>The meter OpenTelemetry exports; the features' own meters are named <see cref="FeaturePrefix"/>*.</summary>
    public const string MeterName = "RoomReconciler";

    private const string FeaturePrefix = MeterName + ".";

    private readonly IMeterFactory _meters;
    private readonly MetricFactory _families;
    private readonly Meter _otlp;
    private readonly MeterListener _listener = new();

    /// <summary>The features' metrics are taken so that they exist, and every family is declared on /metrics, before its first sample.</summary>
    public MetricsExport(IMeterFactory meters, ReconcilerMetrics reconciler, LiveKitMetrics liveKit, ClockMetrics clock, EventMetrics events)
    {
        _meters = meters;
        DotNetStats.Register(Registry);
        _families = Prometheus.Metrics.WithCustomRegistry(Registry);
        // Beside prometheus-net's dotnet_* families, which have none: what the clock streams cost per delivery and per
        // stream is counted from it (tests/Benchmarks, streams), and a rate of it is the GC's workload.
        var allocated = _families.CreateCounter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.");
        Registry.AddBeforeCollectCallback(() => allocated.IncTo(GC.GetTotalAllocatedBytes()));
        _otlp = meters.Create(MeterName, Cli.Version);
        _listener.InstrumentPublished = Publish;
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, family) => Record(instrument, family, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, family) => Record(instrument, family, value, tags));
        _listener.Start();
    }

    /// <summary>This host's families; nothing else in the process writes here.</summary>
    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    /// <summary>
    /// Declares a labelled family's label names as the instrument's tags (values unused): a family is declared on /metrics
    /// with its labels before its first sample, and a Meter instrument has no other place for them.
    /// </summary>
    public static KeyValuePair<string, object?>[] Labels(params string[] names) =>
        [.. names.Order(StringComparer.Ordinal).Select(name => new KeyValuePair<string, object?>(name, null))];

    public void Dispose() => _listener.Dispose();

    private void Publish(Instrument instrument, MeterListener listener)
    {
        if (instrument.Meter.Scope != _meters || !instrument.Meter.Name.StartsWith(FeaturePrefix, StringComparison.Ordinal)) return;
        var labels = instrument.Tags?.Select(t => t.Key).ToArray() ?? [];
        var help = instrument.Description ?? instrument.Name;
        Collector family = instrument switch
        {
            Counter<long> or Counter<double> => _families.CreateCounter(instrument.Name, help, labels),
            Histogram<double> h => _families.CreateHistogram(instrument.Name, help, labels,
                new HistogramConfiguration { Buckets = h.Advice?.HistogramBucketBoundaries?.ToArray() }),
            _ => _families.CreateGauge(instrument.Name, help, labels),
        };
        ExportToOtlp(family);
        listener.EnableMeasurementEvents(instrument, family);
    }

    private static void Record<T>(Instrument instrument, object? family, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags) where T : struct
    {
        var amount = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
        var values = Values(tags);
        switch (family)
        {
            case Counter c: c.WithLabels(values).Inc(amount); break;
            case Histogram h: h.WithLabels(values).Observe(amount); break;
            // An up-down counter's measurement is a change; a gauge's is the value itself.
            case Gauge g when instrument is UpDownCounter<T>: g.WithLabels(values).Inc(amount); break;
            case Gauge g: g.WithLabels(values).Set(amount); break;
        }
    }

    /// <summary>The tag values in the family's label order (sorted by name, as <see cref="Labels"/> declares them).</summary>
    private static string[] Values(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0) return [];
        var sorted = tags.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return [.. sorted.Select(t => Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")];
    }

    /// <summary>
    /// Each family as OpenTelemetry instruments, observed with its labels when the OTLP exporter collects: a counter or
    /// gauge as itself, a histogram as its _count and _sum.
    /// </summary>
    private void ExportToOtlp(Collector family)
    {
        switch (family)
        {
            case Counter c:
                _otlp.CreateObservableCounter(c.Name, () => Observe(c, () => c.Value, child => child.Value), description: c.Help);
                break;
            case Gauge g:
                _otlp.CreateObservableGauge(g.Name, () => Observe(g, () => g.Value, child => child.Value), description: g.Help);
                break;
            case Histogram h:
                _otlp.CreateObservableCounter(h.Name + "_count", () => Observe(h, () => h.Count, child => child.Count), description: h.Help);
                _otlp.CreateObservableCounter(h.Name + "_sum", () => Observe(h, () => h.Sum, child => child.Sum), description: h.Help);
                break;
        }
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
