using RoomReconciler.Reconciliation;

namespace RoomReconciler.Tests.Reconciliation;

public sealed class ReconcilerOptionsTests
{
    [Test]
    public void MaxSessionDuration_DefaultsToFourHours_AndZeroTurnsItOff()
    {
        Assert.That(new ReconcilerOptions().MaxSessionDuration, Is.EqualTo(TimeSpan.FromHours(4)));
        Assert.That(new ReconcilerOptions { MaxSessionDuration = TimeSpan.Zero }.Validate(), Is.Empty);
        Assert.That(DecisionRules.From(new ReconcilerOptions { MaxSessionDuration = TimeSpan.FromMinutes(90) }).MaxSessionDuration,
            Is.EqualTo(TimeSpan.FromMinutes(90)));
    }

    [Test]
    public void MaxSessionDuration_Negative_IsRefusedNamingTheKey() =>
        Assert.That(new ReconcilerOptions { MaxSessionDuration = TimeSpan.FromSeconds(-1) }.Validate(),
            Is.EqualTo(new[] { "Reconciler:MaxSessionDuration must not be negative; 00:00:00 turns the cap off (got -00:00:01)" }));
}
