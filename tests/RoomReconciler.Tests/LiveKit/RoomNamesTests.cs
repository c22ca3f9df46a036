using RoomReconciler.LiveKit;

namespace RoomReconciler.Tests.LiveKit;

public sealed class RoomNamesTests
{
    private static readonly Guid Session = Guid.Parse("3f2504e0-4f89-41d3-9a0c-0305e82c3301");

    [TestCase("")]
    [TestCase("session-")]
    public void RoomOfASession_ReadsBackAsThatSession(string prefix)
    {
        var names = new RoomNames(prefix);
        Assert.That(names.For(Session), Is.EqualTo(prefix + "3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
        Assert.That(names.SessionOf(names.For(Session)), Is.EqualTo(Session));
    }

    [TestCase(null)]
    [TestCase("lobby")]
    [TestCase("other-3f2504e0-4f89-41d3-9a0c-0305e82c3301")]
    [TestCase("session-3F2504E0-4F89-41D3-9A0C-0305E82C3301")]
    [TestCase("session-3f2504e04f8941d39a0c0305e82c3301")]
    [TestCase("session-{3f2504e0-4f89-41d3-9a0c-0305e82c3301}")]
    public void RoomThatIsNotASessionsCanonicalName_IsNotOurs(string? room) =>
        Assert.That(new RoomNames("session-").SessionOf(room), Is.Null);
}
