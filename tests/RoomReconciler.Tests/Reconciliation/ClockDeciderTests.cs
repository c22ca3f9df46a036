using RoomReconciler.Clock;
using RoomReconciler.Reconciliation;
using static RoomReconciler.Reconciliation.ClockTransition;
using LK = RoomReconciler.LiveKit;

namespace RoomReconciler.Tests.Reconciliation;

/// <summary>The pure decision, case by case: stored state × observed room × time → actions and presence.</summary>
public sealed class ClockDeciderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
    private static readonly DecisionRules Rules = new(2, Grace, AutoStart: true, new HashSet<ParticipantCategory> { ParticipantCategory.Standard });

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    private static ObservedParticipant Person(string identity, double joinedAt, ParticipantCategory category = ParticipantCategory.Standard,
        bool hidden = false, bool active = true) => new(identity, category, hidden, active, At(joinedAt));

    private static RoomObservation Room(params ObservedParticipant[] participants) => new RoomObservation.Known(participants);

    /// <summary>A clock as the database stores it: Unix milliseconds.</summary>
    private static ClockState Clock(double? startedAt, bool paused, double? lastChange, double pausedSeconds = 0) =>
        new(Guid.Empty, Ms(startedAt), EndedAt: null, paused, (long)(pausedSeconds * 1000), Ms(lastChange));

    private static long? Ms(double? seconds) => seconds is { } s ? At(s).ToUnixTimeMilliseconds() : null;

    private static StoredSession NotStarted() => new(Clock(null, false, null), [], null, null);

    private static StoredSession Running(double startedAt = 0, string[]? participants = null, double? belowSince = null, double? observedAt = null,
        double pausedSeconds = 0) =>
        new(Clock(startedAt, false, startedAt, pausedSeconds), participants ?? ["customer", "mechanic"],
            belowSince is { } b ? At(b) : null, observedAt is { } o ? At(o) : null);

    private static StoredSession PausedAt(double pausedAt, string[]? participants = null, double belowSince = 0) =>
        new(Clock(0, true, pausedAt), participants ?? ["customer"], At(belowSince), At(pausedAt));

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
        yield return Case("not started, second still JOINING or JOINED (not ACTIVE) → nothing", NotStarted(),
            Room(Person("customer", 1), Person("mechanic", 2, active: false)), 10, [], null, null);
        yield return Case("not started, second became ACTIVE after a long JOINING → start at the last look, not at joined_at",
            NotStarted() with { Participants = ["customer"], ObservedAt = At(50) },
            Room(Person("customer", 1), Person("mechanic", 2)), 55, [(Started, 50)], null, null);
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
            Room(new ObservedParticipant("customer", ParticipantCategory.Standard, false, true, null), Person("mechanic", 0)), 125, [(Resumed, 125)], null, null);
        yield return Case("paused, customer JOINING → nothing", PausedAt(90),
            Room(Person("customer", 120, active: false), Person("mechanic", 0)), 125, [], 0, null);
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
        var decision = ClockDecider.Decide(stored, room, now, Rules);
        Assert.That(Actions(decision), Is.EqualTo(expectedActions));
        Assert.That(decision.Presence is { } presence ? presence.BelowSince : stored.BelowSince, Is.EqualTo(expectedBelowSince), "below_since");
        Assert.That(decision.RecheckAt, Is.EqualTo(expectedRecheck), "recheck");
    }

    [Test]
    public void LiveKitUnreadable_ChangesNothing_InAnyState()
    {
        foreach (var stored in new[] { NotStarted(), Running(), Running(participants: ["mechanic"], belowSince: 0), PausedAt(30) })
            Assert.That(ClockDecider.Decide(stored, RoomObservation.Unknown, At(1000), Rules), Is.SameAs(Decision.Nothing));
    }

    [Test]
    public void LiveKitUnreadable_IsNotAnEmptyRoom()
    {
        var stored = Running(observedAt: 0);
        var empty = ClockDecider.Decide(stored, RoomObservation.Absent, At(10), Rules);
        Assert.That((empty.Presence?.BelowSince, empty.RecheckAt), Is.EqualTo(((DateTimeOffset?)At(10), (DateTimeOffset?)At(40))),
            "an empty room starts the grace");
        Assert.That(ClockDecider.Decide(stored, RoomObservation.Unknown, At(10), Rules), Is.SameAs(Decision.Nothing), "an unreadable one starts nothing");
    }

    [Test]
    public void AutoStartOff_NeverStarts()
    {
        var rules = Rules with { AutoStart = false };
        var decision = ClockDecider.Decide(NotStarted(), Room(Person("customer", 1), Person("mechanic", 2)), At(10), rules);
        Assert.That(decision.Actions, Is.Empty);
    }

    [Test]
    public void WebhookDropHint_IsClampedBetweenTheLastObservationAndNow()
    {
        var room = Room(Person("mechanic", 0));
        Assert.That(ClockDecider.Decide(Running(observedAt: 50), room, At(60), Rules, dropHint: At(55)).Presence!.BelowSince, Is.EqualTo(At(55)));
        Assert.That(ClockDecider.Decide(Running(observedAt: 50), room, At(60), Rules, dropHint: At(40)).Presence!.BelowSince, Is.EqualTo(At(50)));
        Assert.That(ClockDecider.Decide(Running(observedAt: 50), room, At(60), Rules, dropHint: At(70)).Presence!.BelowSince, Is.EqualTo(At(60)));
    }

    [Test]
    public void StoredGrace_IsKept_WhateverTheHint()
    {
        var decision = ClockDecider.Decide(Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), At(70), Rules, dropHint: At(69));
        Assert.That(decision.Presence, Is.Null, "unchanged presence is not written again");
        Assert.That(decision.RecheckAt, Is.EqualTo(At(90)));
    }

    [Test]
    public void CountedKinds_AreConfigurable()
    {
        var rules = Rules with { CountedCategories = new HashSet<ParticipantCategory> { ParticipantCategory.Standard, ParticipantCategory.Sip } };
        var decision = ClockDecider.Decide(NotStarted(), Room(Person("customer", 1), Person("phone", 3, ParticipantCategory.Sip)), At(10), rules);
        Assert.That(Actions(decision), Is.EqualTo(new[] { (Started, At(3)) }));
    }

    [Test]
    public void Presence_ListsCountedIdentitiesInOrder_AndIsOnlyWrittenOnChange()
    {
        var room = Room(Person("mechanic", 0), Person("customer", 0), Person("bot", 0, ParticipantCategory.Agent));
        Assert.That(ClockDecider.Decide(Running(participants: []), room, At(10), Rules).Presence!.Participants,
            Is.EqualTo(new[] { "customer", "mechanic" }));
        Assert.That(ClockDecider.Decide(Running(), room, At(10), Rules).Presence, Is.Null);
    }

    private static readonly DecisionRules Capped = Rules with { MaxSessionDuration = TimeSpan.FromSeconds(100) };

    public static IEnumerable<TestCaseData> MaxDurationCases()
    {
        var both = Room(Person("customer", 0), Person("mechanic", 0));
        yield return MaxCase("running, elapsed just below the cap → nothing", Running(), both, 99.999, []);
        yield return MaxCase("running, elapsed past the cap → ended when it reached it, not when seen", Running(), both, 130, [(Ended, 100)]);
        yield return MaxCase("running with 20 s paused → ended at started + paused + cap", Running(pausedSeconds: 20),
            both, 130, [(Ended, 120)]);
        yield return MaxCase("running, a due pause comes before the cap → paused only", Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), 97, [(Paused, 90)], TimeSpan.FromSeconds(95));
        yield return MaxCase("running, cap before the grace's end → ended at the cap, no pause", Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("mechanic", 0)), 97, [(Ended, 80)], TimeSpan.FromSeconds(80));
        yield return MaxCase("a pause and resume due first move the cap by the paused time", Running(participants: ["mechanic"], belowSince: 60, observedAt: 60),
            Room(Person("customer", 95), Person("mechanic", 0)), 110, [(Paused, 90), (Resumed, 95), (Ended, 105)]);
        yield return MaxCase("paused, long past the cap in wall time → a paused clock never reaches it", PausedAt(90, ["mechanic"], belowSince: 60),
            Room(Person("mechanic", 0)), 1000, []);
        yield return MaxCase("LiveKit unreadable → the cap still ends the clock", Running(), RoomObservation.Unknown, 130, [(Ended, 100)]);
        yield return MaxCase("not started, both present long ago → started then ended", NotStarted(), both, 130, [(Started, 0), (Ended, 100)]);
        yield return MaxCase("cap zero → off", Running(), both, 1_000_000, [], TimeSpan.Zero);
    }

    private static TestCaseData MaxCase(string name, StoredSession stored, RoomObservation room, double now, (ClockTransition, double)[] actions,
        TimeSpan? max = null) =>
        new TestCaseData(stored, room, At(now), actions.Select(a => (a.Item1, At(a.Item2))).ToArray(), max ?? Capped.MaxSessionDuration).SetName(name);

    [TestCaseSource(nameof(MaxDurationCases))]
    public void MaxSessionDuration(StoredSession stored, RoomObservation room, DateTimeOffset now, (ClockTransition, DateTimeOffset)[] expected, TimeSpan max)
    {
        var decision = ClockDecider.Decide(stored, room, now, Rules with { MaxSessionDuration = max });
        Assert.That(Actions(decision), Is.EqualTo(expected));
        if (expected.Any(a => a.Item1 == Ended))
        {
            Assert.That(decision.Actions.Last().Reason, Is.EqualTo(ClockDecider.ReasonMaxDuration));
            Assert.That(decision.RecheckAt, Is.Null, "an ended clock needs no recheck");
        }
    }

    [TestCase(false, false, LK.ParticipantKind.Standard, ParticipantCategory.Standard)]
    [TestCase(true, false, LK.ParticipantKind.Standard, ParticipantCategory.Agent)]
    [TestCase(false, true, LK.ParticipantKind.Standard, ParticipantCategory.Egress)]
    [TestCase(false, false, LK.ParticipantKind.Sip, ParticipantCategory.Sip)]
    public void LegacyAgentAndRecorderGrants_AreObservedAsAgentAndEgress(bool agent, bool recorder, LK.ParticipantKind kind, ParticipantCategory expected)
    {
        var info = new LK.ParticipantInfo
        {
            Identity = "x", Kind = kind, State = LK.ParticipantState.Active,
            Permission = new LK.ParticipantPermission { Agent = agent, Recorder = recorder },
        };
        Assert.That(LiveKitRooms.Observe(info).Category, Is.EqualTo(expected));
    }

    [TestCase(LK.ParticipantState.Joining, false)]
    [TestCase(LK.ParticipantState.Joined, false)]
    [TestCase(LK.ParticipantState.Active, true)]
    [TestCase(LK.ParticipantState.Disconnected, false)]
    [TestCase(LK.ParticipantState.Unrecognized, false)]
    public void OnlyActiveParticipants_AreObservedAsPresent(LK.ParticipantState state, bool active) =>
        Assert.That(LiveKitRooms.Observe(new LK.ParticipantInfo { Identity = "x", State = state }).Active, Is.EqualTo(active));

    [Test]
    public void ParticipantJoinedHint_MovesTheJoinToWhenItBecameActive_NeverEarlier()
    {
        var hint = new ActiveHint("mechanic", At(40));
        Assert.That(hint.ApplyTo(Person("mechanic", 10)).JoinedAt, Is.EqualTo(At(40)), "a long JOINING: createdAt, not joined_at");
        Assert.That(hint.ApplyTo(Person("mechanic", 40.5)).JoinedAt, Is.EqualTo(At(40.5)), "createdAt is truncated: joined_at is later");
        Assert.That(hint.ApplyTo(Person("customer", 10)).JoinedAt, Is.EqualTo(At(10)), "another identity");
        var decision = ClockDecider.Decide(NotStarted(), Room(Person("customer", 1), hint.ApplyTo(Person("mechanic", 10))), At(41), Rules);
        Assert.That(Actions(decision), Is.EqualTo(new[] { (Started, At(40)) }));
    }

    [Test]
    public void MinParticipantsThree_ReachedAtTheThirdJoin()
    {
        var rules = Rules with { MinParticipants = 3 };
        var decision = ClockDecider.Decide(NotStarted(), Room(Person("a", 5), Person("b", 1), Person("c", 3)), At(10), rules);
        Assert.That(Actions(decision), Is.EqualTo(new[] { (Started, At(5)) }));
    }
}
