using System.Text.Json.Nodes;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// The Pod Security Standards' "restricted" level (which includes "baseline"), as kubernetes'
/// pod-security-admission checks a pod spec: one line per violation, empty when a namespace enforcing
/// restricted would admit the pod. Written from the standard's rules, for the fields a manifest can set.
/// </summary>
public static class PodSecurityRestricted
{
    private static readonly string[] BaselineCapabilities =
        ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

    private static readonly string[] RestrictedVolumes =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret", "image"];

    private static readonly string[] SafeSysctls =
        ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
         "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
         "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

    private static readonly string[] SeLinuxTypes = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    public static IReadOnlyList<string> Violations(JsonObject pod)
    {
        var v = new List<string>();
        var podContext = pod["securityContext"];
        var containers = new[] { "containers", "initContainers", "ephemeralContainers" }
            .SelectMany(kind => pod[kind]?.AsArray() ?? []).Select(c => c!.AsObject()).ToList();

        // baseline
        foreach (var ns in new[] { "hostNetwork", "hostPID", "hostIPC" })
            if (Bool(pod[ns]) == true) v.Add($"{ns} must not be true");
        foreach (var volume in pod["volumes"]?.AsArray() ?? [])
        {
            var type = volume!.AsObject().Select(p => p.Key).FirstOrDefault(k => k != "name") ?? "";
            if (type == "hostPath") v.Add($"volume {volume["name"]} is a hostPath");
            if (!RestrictedVolumes.Contains(type)) v.Add($"volume {volume["name"]} has type {type}, not one restricted allows");
        }
        foreach (var sysctl in podContext?["sysctls"]?.AsArray() ?? [])
            if (!SafeSysctls.Contains((string?)sysctl!["name"])) v.Add($"sysctl {sysctl["name"]} is not in the safe set");
        if (!SeLinuxTypes.Contains((string?)podContext?["seLinuxOptions"]?["type"] ?? "")) v.Add("pod seLinuxOptions.type is not allowed");
        if ((string?)podContext?["appArmorProfile"]?["type"] == "Unconfined") v.Add("pod appArmorProfile must not be Unconfined");
        if (Bool(podContext?["runAsNonRoot"]) == false) v.Add("pod must not set runAsNonRoot=false");
        if (Int(podContext?["runAsUser"]) == 0) v.Add("pod must not set runAsUser=0");
        var podSeccomp = (string?)podContext?["seccompProfile"]?["type"];
        if (podSeccomp == "Unconfined") v.Add("pod seccompProfile must not be Unconfined");

        foreach (var c in containers)
        {
            var name = (string?)c["name"];
            var sc = c["securityContext"];
            if (Bool(sc?["privileged"]) == true) v.Add($"container {name} must not be privileged");
            foreach (var port in c["ports"]?.AsArray() ?? [])
                if (Int(port!["hostPort"]) is > 0) v.Add($"container {name} must not use hostPort");
            if (((string?)sc?["procMount"] ?? "Default") != "Default") v.Add($"container {name} procMount must be Default");
            if (!SeLinuxTypes.Contains((string?)sc?["seLinuxOptions"]?["type"] ?? "")) v.Add($"container {name} seLinuxOptions.type is not allowed");
            if ((string?)sc?["appArmorProfile"]?["type"] == "Unconfined") v.Add($"container {name} appArmorProfile must not be Unconfined");
            foreach (var handler in new[] { c["livenessProbe"], c["readinessProbe"], c["startupProbe"], c["lifecycle"]?["preStop"], c["lifecycle"]?["postStart"] })
                if (handler?["httpGet"]?["host"] is not null || handler?["tcpSocket"]?["host"] is not null)
                    v.Add($"container {name} probes and lifecycle handlers must not set host");

            // restricted
            if (Bool(sc?["allowPrivilegeEscalation"]) != false) v.Add($"container {name} must set allowPrivilegeEscalation=false");
            var drop = sc?["capabilities"]?["drop"]?.AsArray().Select(d => (string?)d) ?? [];
            if (!drop.Contains("ALL")) v.Add($"container {name} must drop ALL capabilities");
            foreach (var add in sc?["capabilities"]?["add"]?.AsArray().Select(a => (string?)a) ?? [])
            {
                if (!BaselineCapabilities.Contains(add)) v.Add($"container {name} adds capability {add}, beyond baseline");
                if (add != "NET_BIND_SERVICE") v.Add($"container {name} adds capability {add}; restricted allows NET_BIND_SERVICE only");
            }
            var nonRoot = Bool(sc?["runAsNonRoot"]);
            if (nonRoot == false) v.Add($"container {name} must not set runAsNonRoot=false");
            if (nonRoot is null && Bool(podContext?["runAsNonRoot"]) != true) v.Add($"pod or container {name} must set runAsNonRoot=true");
            if (Int(sc?["runAsUser"]) == 0) v.Add($"container {name} must not set runAsUser=0");
            var seccomp = (string?)sc?["seccompProfile"]?["type"];
            if (seccomp == "Unconfined") v.Add($"container {name} seccompProfile must not be Unconfined");
            if (seccomp is null && podSeccomp is not ("RuntimeDefault" or "Localhost"))
                v.Add($"pod or container {name} must set seccompProfile.type to RuntimeDefault or Localhost");
        }
        return v;
    }

    private static bool? Bool(JsonNode? node) => node is null ? null : bool.Parse(node.ToString());
    private static long? Int(JsonNode? node) => node is null ? null : long.Parse(node.ToString());
}
