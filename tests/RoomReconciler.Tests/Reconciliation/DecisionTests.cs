using RoomReconciler.Reconciliation;
using static RoomReconciler.Reconciliation.ClockTransition;

namespace RoomReconciler.Tests.Reconciliation;

/// <summary>The pure decision, case by case: stored state × observed room × time → actions and presence.</summary>
public sealed class DecisionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
    private static readonly DecisionRules Rules = new(2, Grace, AutoStart: true, new HashSet<ParticipantCategory> { ParticipantCategory.Standard });

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    private static ObservedParticipant Person(string identity, double joinedAt, ParticipantCategory category = ParticipantCategory.Standard,
        bool hidden = false, bool disconnected = false) => new(identity, category, hidden, disconnected, At(joinedAt));

    private static RoomObservation Room(params ObservedParticipant[] participants) => new(participants);

    private static StoredSession NotStarted() => new(Guid.Empty, null, false, null, [], null, null);

    private static StoredSession Running(double startedAt = 0, string[]? participants = null, double? belowSince = null, double? observedAt = null) =>
        new(Guid.Empty, At(startedAt), false, At(startedAt), participants ?? ["customer", "mechanic"],
            belowSince is { } b ? At(b) : null, observedAt is { } o ? At(o) : null);

    private static StoredSession PausedAt(double pausedAt, string[]? participants = null, double belowSince = 0) =>
        new(Guid.Empty, At(0), true, At(pausedAt), participants ?? ["customer"], At(belowSince), At(pausedAt));

    private static IEnumerable<(ClockTransition, DateTimeOffset)> Actions(Decision d) => d.Actions.Select(a => (a.Transition, a.EffectiveAt));

    public static IEnumerable<TestCaseData> Cases()
    {
        // name, stored, room, now, expected actions, expected presence below_since (seconds) or null, recheck (seconds) or null
        yield return Case("not started, both join → start when the second joined", NotStarted(),
            Room(Person("customer", 1), Person("mechanic", 4)), 10, [(Started, 4)], null, null);
        yield return Case("not started, one present → nothing", NotStarted(),
            Room(Person("customer", 1)), 10, [], null, null);
        yield return Case("not started, second is an agent → nothing", NotStarted(),
            Room(Person("customer", 1), Person("bot", 2, ParticipantCategory.Agent)), 10, [], null, null);
        yield return Case("not started, second is hidden → nothing", NotStarted(),
            Room(Person("customer", 1), Person("observer", 2, hidden: true)), 10, [], null, null);
        yield return Case("not started, second is egress → nothing", NotStarted(),
            Room(Person("customer", 1), Person("recorder", 2, ParticipantCategory.Egress)), 10, [], null, null);
        yield return Case("not started, second is disconnected → nothing", NotStarted(),
            Room(Person("customer", 1), Person("mechanic", 2, disconnected: true)), 10, [], null, null);
        yield return Case("not started, same identity twice counts once", NotStarted(),
            Room(Person("customer", 1), Person("customer", 2)), 10, [], null, null);
        yield return Case("not started, join time in the future is taken as now", NotStarted(),
            Room(Person("customer", 1), Person("mechanic", 99)), 10, [(Started, 10)], null, null);
        yield return Case("not started, room absent → nothing", NotStarted(), RoomObservation.Absent, 10, [], null, null);

        yield return Case("running, both present → nothing", Running(),
            Room(Person("customer", 0), Person("mechanic", 0)), 100, [], null, null);
        yield return Case("running, customer gone (poll) → grace starts now, recheck at its end", Running(observedAt: 50),
            Room(Person("mechanic", 0)), 60, [], 60, 90);
        yield return Case("running, room absent → grace starts", Running(observedAt: 50),
            RoomObservation.Absent, 60, [], 60, 90);
        yield return Case("running, in grace, not yet due → nothing, recheck", Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), 89.999, [], 60, 90);
        yield return Case("running, grace over → pause at drop + grace, not at the poll", Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), 97, [(Paused, 90)], 60, null);
        yield return Case("running, grace over exactly now → pause now", Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), 90, [(Paused, 90)], 60, null);
        yield return Case("running, back within the grace → nothing, grace cleared", Running(participants: ["mechanic"], belowSince: 45, observedAt: 45),
            Room(Person("customer", 50), Person("mechanic", 0)), 52, [], null, null);
        yield return Case("running, back after the grace but seen only now → pause at the deadline and resume at the rejoin",
            Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("customer", 95), Person("mechanic", 0)), 97, [(Paused, 90), (Resumed, 95)], null, null);
        yield return Case("running, only agent, egress and hidden remain with the mechanic → grace starts", Running(observedAt: 50),
            Room(Person("mechanic", 0), Person("bot", 1, ParticipantCategory.Agent), Person("rec", 1, ParticipantCategory.Egress),
                Person("spy", 1, hidden: true)), 60, [], 60, 90);
        yield return Case("running, device switch (same identity, new join time) → nothing", Running(),
            Room(Person("customer", 100), Person("mechanic", 0)), 101, [], null, null);

        yield return Case("paused, customer back → resume at the rejoin", PausedAt(90),
            Room(Person("customer", 120), Person("mechanic", 0)), 125, [(Resumed, 120)], null, null);
        yield return Case("paused, rejoin time unknown → resume now", PausedAt(90),
            Room(new ObservedParticipant("customer", ParticipantCategory.Standard, false, false, null), Person("mechanic", 0)), 125, [(Resumed, 125)], null, null);
        yield return Case("paused, still alone → nothing", PausedAt(90, ["mechanic"], belowSince: 60),
            Room(Person("mechanic", 0)), 200, [], 60, null);
        yield return Case("paused, room absent → nothing", PausedAt(90, ["mechanic"], belowSince: 60),
            RoomObservation.Absent, 200, [], 60, null);
    }

    private static TestCaseData Case(string name, StoredSession stored, RoomObservation room, double now,
        (ClockTransition, double)[] actions, double? belowSince, double? recheck) =>
        new TestCaseData(stored, room, At(now), actions.Select(a => (a.Item1, At(a.Item2))).ToArray(),
            belowSince is { } b ? At(b) : (DateTimeOffset?)null, recheck is { } r ? At(r) : (DateTimeOffset?)null).SetName(name);

    [TestCaseSource(nameof(Cases))]
    public void Decide(StoredSession stored, RoomObservation room, DateTimeOffset now,
        (ClockTransition, DateTimeOffset)[] expectedActions, DateTimeOffset? expectedBelowSince, DateTimeOffset? expectedRecheck)
    {
        var decision = Reconcile.Decide(stored, room, now, Rules);
        Assert.That(Actions(decision), Is.EqualTo(expectedActions));
        Assert.That(decision.Presence is { } presence ? presence.BelowSince : stored.BelowSince, Is.EqualTo(expectedBelowSince), "below_since");
        Assert.That(decision.RecheckAt, Is.EqualTo(expectedRecheck), "recheck");
    }

    [Test]
    public void LiveKitUnreadable_ChangesNothing_InAnyState()
    {
        foreach (var stored in new[] { NotStarted(), Running(), Running(participants: ["mechanic"], belowSince: 0), PausedAt(30) })
            Assert.That(Reconcile.Decide(stored, RoomObservation.Unknown, At(1000), Rules), Is.SameAs(Decision.Nothing));
    }

    [Test]
    public void AutoStartOff_NeverStarts()
    {
        var rules = Rules with { AutoStart = false };
        var decision = Reconcile.Decide(NotStarted(), Room(Person("customer", 1), Person("mechanic", 2)), At(10), rules);
        Assert.That(decision.Actions, Is.Empty);
    }

    [Test]
    public void WebhookDropHint_IsClampedBetweenTheLastObservationAndNow()
    {
        var room = Room(Person("mechanic", 0));
        Assert.That(Reconcile.Decide(Running(observedAt: 50), room, At(60), Rules, dropHint: At(55)).Presence!.BelowSince, Is.EqualTo(At(55)));
        Assert.That(Reconcile.Decide(Running(observedAt: 50), room, At(60), Rules, dropHint: At(40)).Presence!.BelowSince, Is.EqualTo(At(50)));
        Assert.That(Reconcile.Decide(Running(observedAt: 50), room, At(60), Rules, dropHint: At(70)).Presence!.BelowSince, Is.EqualTo(At(60)));
    }

    [Test]
    public void StoredGrace_IsKept_WhateverTheHint()
    {
        var decision = Reconcile.Decide(Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), At(70), Rules, dropHint: At(69));
        Assert.That(decision.Presence, Is.Null, "unchanged presence is not written again");
        Assert.That(decision.RecheckAt, Is.EqualTo(At(90)));
    }

    [Test]
    public void CountedKinds_AreConfigurable()
    {
        var rules = Rules with { CountedCategories = new HashSet<ParticipantCategory> { ParticipantCategory.Standard, ParticipantCategory.Sip } };
        var decision = Reconcile.Decide(NotStarted(), Room(Person("customer", 1), Person("phone", 3, ParticipantCategory.Sip)), At(10), rules);
        Assert.That(Actions(decision), Is.EqualTo(new[] { (Started, At(3)) }));
    }

    [Test]
    public void Presence_ListsCountedIdentitiesInOrder_AndIsOnlyWrittenOnChange()
    {
        var room = Room(Person("mechanic", 0), Person("customer", 0), Person("bot", 0, ParticipantCategory.Agent));
        Assert.That(Reconcile.Decide(Running(participants: []), room, At(10), Rules).Presence!.Participants,
            Is.EqualTo(new[] { "customer", "mechanic" }));
        Assert.That(Reconcile.Decide(Running(), room, At(10), Rules).Presence, Is.Null);
    }

    [Test]
    public void MinParticipantsThree_ReachedAtTheThirdJoin()
    {
        var rules = Rules with { MinParticipants = 3 };
        var decision = Reconcile.Decide(NotStarted(), Room(Person("a", 5), Person("b", 1), Person("c", 3)), At(10), rules);
        Assert.That(Actions(decision), Is.EqualTo(new[] { (Started, At(5)) }));
    }
}
