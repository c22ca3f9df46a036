using System.Text.Json.Nodes;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// deploy/kubernetes as `kubectl apply -f deploy/kubernetes/` applies it: admitted under Pod Security "restricted",
/// migrating before a new version serves, never overwriting the real Secret, and rolling without dropping requests.
/// The schemas themselves are checked by .ci/node/kubernetes.mjs (test.sh).
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly IReadOnlyList<(string File, JsonObject Doc)> Applied = Manifests.Documents("deploy/kubernetes");

    private static JsonObject Deployment => Applied.Single(d => (string?)d.Doc["kind"] == "Deployment").Doc;
    private static JsonObject Pod => Manifests.PodSpec(Deployment)!;
    private static JsonObject Daemon => Pod["containers"]!.AsArray().Single(c => (string?)c!["name"] == "roomreconciler")!.AsObject();

    [Test]
    public void EveryPod_PassesPodSecurityRestricted()
    {
        var pods = Applied.Where(d => Manifests.PodSpec(d.Doc) is not null).ToList();
        Assert.That(pods, Is.Not.Empty);
        foreach (var (file, doc) in pods)
            Assert.That(PodSecurityRestricted.Violations(Manifests.PodSpec(doc)!), Is.Empty, $"{file} {doc["kind"]}/{doc["metadata"]?["name"]}");
    }

    [Test]
    public void TheRestrictedCheck_RefusesWhatTheStandardRefuses()
    {
        // The old manifests' pod: non-root by name only, no seccomp profile.
        var pod = Manifests.Parse("""
            securityContext: {runAsNonRoot: true}
            containers:
              - name: a
                securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [SYS_ADMIN]}}
              - name: b
                securityContext: {runAsNonRoot: false, runAsUser: 0, privileged: true}
                ports: [{containerPort: 80, hostPort: 80}]
            volumes: [{name: h, hostPath: {path: /}}]
            hostNetwork: true
            """)[0];
        var violations = PodSecurityRestricted.Violations(pod);
        Assert.That(violations, Has.Some.Contains("seccompProfile"));
        Assert.That(violations, Has.Some.Contains("SYS_ADMIN"));
        Assert.That(violations, Has.Some.Contains("container b must set allowPrivilegeEscalation=false"));
        Assert.That(violations, Has.Some.Contains("runAsNonRoot=false").And.Some.Contains("runAsUser=0").And.Some.Contains("privileged"));
        Assert.That(violations, Has.Some.Contains("hostPort").And.Some.Contains("hostPath").And.Some.Contains("hostNetwork"));
    }

    [Test]
    public void ApplyingTheFolder_CreatesNoSecretAndTheExampleLivesApart()
    {
        Assert.That(Applied.Select(d => (string?)d.Doc["kind"]), Has.None.EqualTo("Secret"));
        var secretRefs = Pod["containers"]!.AsArray().Concat(Pod["initContainers"]?.AsArray() ?? [])
            .SelectMany(c => c!["envFrom"]?.AsArray() ?? []).Select(e => (string?)e!["secretRef"]?["name"]).Where(n => n is not null);
        var example = Manifests.Documents("deploy/examples").Single(d => (string?)d.Doc["kind"] == "Secret").Doc;
        Assert.That(secretRefs, Has.All.EqualTo((string?)example["metadata"]!["name"]), "the example shows the Secret the pods read");
    }

    [Test]
    public void EveryPod_MigratesBeforeItServesAndNothingIsAOneShotJob()
    {
        var init = Pod["initContainers"]?.AsArray().Select(c => c!.AsObject()).ToList() ?? [];
        var migrate = init.SingleOrDefault(c => c["args"]?.AsArray().Select(a => (string?)a).SequenceEqual(["migrate"]) == true);
        Assert.That(migrate, Is.Not.Null, "an init container runs `migrate`");
        Assert.That((string?)migrate!["image"], Is.EqualTo((string?)Daemon["image"]), "the migrations of the version about to serve");
        Assert.That(migrate["envFrom"]!.ToJsonString(), Is.EqualTo(Daemon["envFrom"]!.ToJsonString()), "the same database");
        foreach (var (file, doc) in Applied.Where(d => (string?)d.Doc["kind"] == "Job"))
            Assert.That(doc["metadata"]?["generateName"], Is.Not.Null, $"{file}: a Job with a fixed name cannot run again for a new image");
    }

    [Test]
    public void TheRollout_DrainsSpreadsOverNodesAndSizesEveryContainer()
    {
        var preStop = Daemon["lifecycle"]?["preStop"];
        Assert.That(preStop, Is.Not.Null, "a preStop delay while endpoints stop routing here");
        Assert.That(preStop!["exec"], Is.Null, "the image has no shell: the kubelet's own sleep");
        var delay = int.Parse(preStop["sleep"]!["seconds"]!.ToString());
        Assert.That(int.Parse(Pod["terminationGracePeriodSeconds"]!.ToString()), Is.GreaterThan(delay + 30), "preStop + the host's 30 s shutdown");
        var spread = Pod["topologySpreadConstraints"]?.AsArray().Select(t => (string?)t!["topologyKey"]) ?? [];
        Assert.That(spread, Has.Member("kubernetes.io/hostname"));
        foreach (var c in Pod["containers"]!.AsArray().Concat(Pod["initContainers"]?.AsArray() ?? []))
        {
            Assert.That(c!["resources"]?["requests"]?["cpu"], Is.Not.Null, $"{c["name"]} requests CPU");
            Assert.That(c["resources"]?["requests"]?["memory"], Is.Not.Null, $"{c["name"]} requests memory");
            Assert.That(c["resources"]?["limits"]?["memory"], Is.Not.Null, $"{c["name"]} limits memory");
        }
    }

    [Test]
    public void Probes_NeedNoShellAndUseTheManagementPort()
    {
        var management = Applied.Single(d => (string?)d.Doc["kind"] == "ConfigMap").Doc["data"]!["Management__Port"]!.ToString();
        var port = Daemon["ports"]!.AsArray().Single(p => (string?)p!["name"] == "management")!;
        Assert.That(port["containerPort"]!.ToString(), Is.EqualTo(management));
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
        {
            Assert.That(Daemon[probe]?["exec"], Is.Null, probe);
            Assert.That((string?)Daemon[probe]?["httpGet"]?["port"], Is.EqualTo("management"), probe);
        }
        Assert.That((string?)Daemon["readinessProbe"]!["httpGet"]!["path"], Is.EqualTo("/readyz"));
        var service = Applied.Single(d => (string?)d.Doc["kind"] == "Service").Doc;
        Assert.That(service["spec"]!["ports"]!.AsArray().Select(p => (string?)p!["targetPort"]), Has.None.EqualTo("management"), "the Service does not expose it");
    }
}
