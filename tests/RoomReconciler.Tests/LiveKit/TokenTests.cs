using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>The hand-written HS256 AccessToken and TokenVerifier (docs/livekit.md §3), with the dev secret "secret".</summary>
public sealed class TokenTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly ManualClock _time = new(Now);
    private TokenVerifier Verifier => new(TestTokens.ApiKey, TestTokens.Secret, _time);

    private static string Payload(long? exp = null, long? nbf = null, string iss = TestTokens.ApiKey) =>
        "{" + string.Join(",", new[]
        {
            $"\"iss\":\"{iss}\"",
            exp is null ? null : $"\"exp\":{exp}",
            nbf is null ? null : $"\"nbf\":{nbf}",
        }.Where(c => c is not null)) + "}";

    private static long At(TimeSpan offset) => (Now + offset).ToUnixTimeSeconds();

    private void Rejected(string token, string reason) =>
        Assert.That(() => Verifier.Verify(token), Throws.TypeOf<TokenRejectedException>().With.Message.Contains(reason));

    [Test]
    public void RoundTrip_WithTheDevSecret()
    {
        var token = AccessToken.Create(TestTokens.ApiKey, TestTokens.Secret, Now, TimeSpan.FromHours(6),
            new VideoGrants { RoomJoin = true, Room = "r1" }, identity: "alice",
            extraClaims: new Dictionary<string, object?> { ["name"] = "Alice" });
        var verified = Verifier.Verify(token);
        Assert.That((verified.Issuer, verified.Identity), Is.EqualTo((TestTokens.ApiKey, "alice")));
        Assert.That(verified.Video, Is.EqualTo(new VideoGrants { RoomJoin = true, Room = "r1" }));
        Assert.That(verified.Claims.GetProperty("name").GetString(), Is.EqualTo("Alice"));
        Assert.That(verified.Claims.GetProperty("exp").GetInt64(), Is.EqualTo(At(TimeSpan.FromHours(6))));
    }

    [Test]
    public void ValidHandMadeToken_Accepted() =>
        Assert.That(Verifier.Verify(TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(5))))).Issuer, Is.EqualTo(TestTokens.ApiKey));

    [Test]
    public void AlgNone_Rejected()
    {
        var unsigned = TestTokens.Encode("""{"alg":"none","typ":"JWT"}""") + "." + TestTokens.Encode(Payload(exp: At(TimeSpan.FromMinutes(5)))) + ".";
        Rejected(unsigned, "HS256");
    }

    [Test]
    public void AlgHS512_Rejected() => Rejected(TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(5))), alg: "HS512"), "HS256");

    [Test]
    public void TamperedPayload_Rejected()
    {
        var parts = TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(5)))).Split('.');
        parts[1] = TestTokens.Encode(Payload(exp: At(TimeSpan.FromDays(365))));
        Rejected(string.Join('.', parts), "signature");
    }

    [Test]
    public void WrongSecret_Rejected() => Rejected(TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(5))), "not-the-secret"), "signature");

    [Test]
    public void UnknownIssuer_Rejected() => Rejected(TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(5)), iss: "otherkey")), "unknown API key");

    [Test]
    public void MissingExp_Rejected() => Rejected(TestTokens.Sign(Payload()), "expiry");

    [Test]
    public void ExpiredBeyondLeeway_Rejected() => Rejected(TestTokens.Sign(Payload(exp: At(TimeSpan.FromSeconds(-61)))), "expired");

    [Test]
    public void ExpiredWithinLeeway_Accepted() =>
        Assert.That(() => Verifier.Verify(TestTokens.Sign(Payload(exp: At(TimeSpan.FromSeconds(-59))))), Throws.Nothing);

    [Test]
    public void NotBeforeInTheFuture_Rejected() =>
        Rejected(TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(10)), nbf: At(TimeSpan.FromSeconds(61)))), "not valid yet");

    [Test]
    public void NotBeforeWithinLeeway_Accepted() =>
        Assert.That(() => Verifier.Verify(TestTokens.Sign(Payload(exp: At(TimeSpan.FromMinutes(10)), nbf: At(TimeSpan.FromSeconds(59))))), Throws.Nothing);

    [TestCase(null)]
    [TestCase("")]
    [TestCase("garbage")]
    [TestCase("a.b")]
    [TestCase("a.b.c")]
    [TestCase("!!!.???.***")]
    [TestCase("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln")]
    public void Garbage_Rejected(string? token) =>
        Assert.That(() => Verifier.Verify(token), Throws.TypeOf<TokenRejectedException>());
}
