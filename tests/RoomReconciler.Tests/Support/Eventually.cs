using System.Diagnostics;

namespace RoomReconciler.Tests.Support;

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task<T> Async<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (condition(value)) return value;
            if (deadline.Elapsed > timeout) Assert.Fail($"timed out after {timeout.TotalSeconds:F1} s waiting for {what}; last value {value}");
            await Task.Delay(25);
        }
    }
}
