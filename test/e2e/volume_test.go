package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLocalPathVolumes is issue 12's volume story on two real nodes: a
// claim of the default class local-path waits for its first consumer;
// the pod that uses it is scheduled to node-2 (its nodeSelector), where
// node-2's agent makes a directory and a PersistentVolume pinned to
// node-2; the pod writes into it as fsGroup 2000. A second pod, with no
// nodeSelector, follows the volume to node-2 and reads the data through
// a read-only mount. A generic ephemeral volume gets its claim and loses
// it with its pod. Deleting a claim removes the data of a Delete volume
// and keeps that of a Retain one. A running pod's emptyDir and claim
// show in its kubelet's /stats/summary and volume metrics. Each node
// publishes its free space: a claim larger than every node's keeps its
// pod Pending.
func TestLocalPathVolumes(t *testing.T) {
	t.Parallel()
	// Volumes measured every 5 s, not each minute: the stats show sooner.
	n := newServerNode(t, false, "--volume-stats-agg-period=5s")
	n2 := n.addAgentNode("node-2", agentNodeIP)
	image := n.registry.Ref("busybox:1")
	n2.importImage(n, image)
	for _, node := range []string{"node-1", "node-2"} {
		eventuallyKubectl(t, n, 2*time.Minute, node+" Ready", func() (bool, string) {
			out, err := n.tryKubectl("get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			return err == nil && out == "True", out
		})
	}
	if out := n.kubectl("get", "storageclass"); !strings.Contains(out, "local-path (default)") || !strings.Contains(out, "kemudi.io/local-path") || !strings.Contains(out, "WaitForFirstConsumer") {
		t.Errorf("kubectl get storageclass:\n%s", out)
	}
	apply := func(manifest string) {
		t.Helper()
		manifest = strings.ReplaceAll(manifest, "IMAGE", image)
		if out, err := n.kubectlEnv(nil, manifest, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, manifest)
		}
	}
	podDone := func(pod string) {
		t.Helper()
		eventuallyKubectl(t, n, 3*time.Minute, pod+" Succeeded", func() (bool, string) {
			out, err := n.tryKubectl("get", "pod", pod, "-o", "jsonpath={.status.phase} {.spec.nodeName}")
			if err == nil && strings.HasPrefix(out, "Failed") {
				logs, _ := n.tryKubectl("logs", pod)
				t.Fatalf("%s failed: %s\n%s\n%s", pod, out, logs, n.kubectl("describe", "pod", pod))
			}
			return err == nil && strings.HasPrefix(out, "Succeeded"), out
		})
	}

	// A running pod with an emptyDir and a claim, each with 1 MiB
	// written: the kubelet measures them in the background (every
	// minute), checked near the end.
	apply(claimManifest("stats-data", ""))
	apply(`apiVersion: v1
kind: Pod
metadata: {name: stats}
spec:
  nodeSelector: {kubernetes.io/hostname: node-1}
  containers:
  - name: c
    image: IMAGE
    command: [sh, -c, "dd if=/dev/zero of=/cache/f bs=1024 count=1024 && dd if=/dev/zero of=/data/f bs=1024 count=1024 && sleep 3600"]
    volumeMounts: [{name: cache, mountPath: /cache}, {name: data, mountPath: /data}]
  volumes:
  - {name: cache, emptyDir: {}}
  - {name: data, persistentVolumeClaim: {claimName: stats-data}}
`)

	// The claim waits for its first consumer, and says so.
	apply(claimManifest("data", ""))
	eventuallyKubectl(t, n, 30*time.Second, "data's WaitForFirstConsumer event", func() (bool, string) {
		out, err := n.tryKubectl("get", "events", "--field-selector", "involvedObject.name=data")
		return err == nil && strings.Contains(out, "WaitForFirstConsumer"), out
	})
	if out := n.kubectl("get", "pvc", "data", "-o", "jsonpath={.status.phase} {.spec.storageClassName}"); out != "Pending local-path" {
		t.Errorf("claim before its consumer: %q, want Pending local-path", out)
	}
	// A class whose provisioner nobody runs: the claim stays Pending and
	// its events name the provisioner it waits for.
	apply(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nowhere}
provisioner: example.com/nowhere
`)
	apply(claimManifest("orphan", "nowhere"))
	eventuallyKubectl(t, n, 30*time.Second, "orphan's ExternalProvisioning event", func() (bool, string) {
		out, err := n.tryKubectl("get", "events", "--field-selector", "involvedObject.name=orphan")
		return err == nil && strings.Contains(out, "ExternalProvisioning") && strings.Contains(out, "example.com/nowhere"), out
	})
	if out := n.kubectl("get", "pvc", "orphan", "-o", "jsonpath={.status.phase}"); out != "Pending" {
		t.Errorf("orphan claim: %q, want Pending", out)
	}

	// Each node's agent publishes its free space for local-path; a claim
	// larger than every node's keeps its pod unscheduled with upstream's
	// reason, and stays Pending with no volume.
	eventuallyKubectl(t, n, time.Minute, "both nodes' capacities published", func() (bool, string) {
		out, err := n.tryKubectl("get", "csistoragecapacities", "-n", "kube-system", "-o",
			`jsonpath={range .items[*]}{.nodeTopology.matchLabels.kubernetes\.io/hostname}={.storageClassName} {end}`)
		return err == nil && strings.Contains(out, "node-1=local-path") && strings.Contains(out, "node-2=local-path"), out
	})
	apply(strings.Replace(claimManifest("huge", ""), "64Mi", "1Ei", 1))
	apply(volumePod("huge", "huge", "", false, "true"))
	eventuallyKubectl(t, n, time.Minute, "huge's FailedScheduling event", func() (bool, string) {
		out, err := n.tryKubectl("get", "events", "--field-selector", "involvedObject.name=huge,reason=FailedScheduling")
		return err == nil && strings.Contains(out, "2 node(s) did not have enough free storage"), out
	})
	if out := n.kubectl("get", "pvc", "huge", "-o", "jsonpath={.status.phase} {.spec.volumeName}"); out != "Pending " {
		t.Errorf("huge claim: %q, want Pending without a volume", out)
	}
	n.kubectl("delete", "pod", "huge", "--wait=true", "--timeout=120s")
	n.kubectl("delete", "pvc", "huge", "--wait=true", "--timeout=120s")

	apply(volumePod("writer", "data", `{"kubernetes.io/hostname": "node-2"}`, false,
		"id -G; echo kept across pods > /data/msg; mkdir -p /data/sub; echo in sub > /data/sub/f; ls -ln /data"))
	podDone("writer")
	if out := n.kubectl("get", "pod", "writer", "-o", "jsonpath={.spec.nodeName}"); out != "node-2" {
		t.Fatalf("writer ran on %q, want node-2", out)
	}
	pv := n.kubectl("get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
	uid := n.kubectl("get", "pvc", "data", "-o", "jsonpath={.metadata.uid}")
	if phase := n.kubectl("get", "pvc", "data", "-o", "jsonpath={.status.phase}"); phase != "Bound" || pv != "pvc-"+uid {
		t.Fatalf("claim data: phase %q volume %q, want Bound to pvc-%s", phase, pv, uid)
	}
	out := n.kubectl("get", "pv", pv, "-o", `jsonpath={.spec.local.path} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.spec.persistentVolumeReclaimPolicy} {.spec.claimRef.name} {.metadata.annotations.pv\.kubernetes\.io/provisioned-by}`)
	dir := filepath.Join(n2.tmp, "data", "agent", "storage", pv+"_default_data")
	if want := dir + " node-2 Delete data kemudi.io/local-path"; out != want {
		t.Errorf("pv %s: %q, want %q", pv, out, want)
	}
	// The data is on node-2's disk, owned by the pod's fsGroup.
	data, err := os.ReadFile(filepath.Join(dir, "msg"))
	if err != nil || string(data) != "kept across pods\n" {
		t.Errorf("%s/msg on node-2: %q, %v", dir, data, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "msg")); err != nil || fi.Sys().(*syscall.Stat_t).Gid != 2000 {
		t.Errorf("msg's group: %v, %v; want the pod's fsGroup 2000", fi, err)
	}
	if logs := n.kubectl("logs", "writer"); !strings.Contains(logs, "2000") {
		t.Errorf("writer's groups lack its fsGroup 2000:\n%s", logs)
	}

	// A new pod follows the volume to node-2 and reads the data, through
	// a read-only mount and a subPath.
	n.kubectl("delete", "pod", "writer", "--wait=true", "--timeout=120s")
	apply(volumePod("reader", "data", "", true,
		"cat /data/msg; cat /sub/f; touch /data/new 2>&1 || true"))
	podDone("reader")
	if out := n.kubectl("get", "pod", "reader", "-o", "jsonpath={.spec.nodeName}"); out != "node-2" {
		t.Errorf("reader ran on %q, want node-2 where its volume is", out)
	}
	logs := n.kubectl("logs", "reader")
	for _, want := range []string{"kept across pods", "in sub", "Read-only file system"} {
		if !strings.Contains(logs, want) {
			t.Errorf("reader's log lacks %q:\n%s", want, logs)
		}
	}

	// A generic ephemeral volume: its claim <pod>-<volume> is made from
	// the template, provisioned for the pod, and goes with the pod.
	apply(`apiVersion: v1
kind: Pod
metadata: {name: scratch}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: IMAGE
    command: [sh, -c, "echo ephemeral > /scratch/f && cat /scratch/f"]
    volumeMounts: [{name: work, mountPath: /scratch}]
  volumes:
  - name: work
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 16Mi}}
`)
	podDone("scratch")
	if logs := n.kubectl("logs", "scratch"); !strings.Contains(logs, "ephemeral") {
		t.Errorf("scratch's log: %q", logs)
	}
	if out := n.kubectl("get", "pvc", "scratch-work", "-o", "jsonpath={.status.phase} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"); out != "Bound Pod/scratch" {
		t.Errorf("the ephemeral claim: %q, want Bound and owned by Pod/scratch", out)
	}
	n.kubectl("delete", "pod", "scratch", "--wait=true", "--timeout=120s")
	eventuallyKubectl(t, n, time.Minute, "the ephemeral claim gone with its pod", func() (bool, string) {
		out, err := n.tryKubectl("get", "pvc", "scratch-work", "--ignore-not-found", "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", out
	})

	// Retain keeps the directory and the volume (Released); Delete
	// removes both.
	apply(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: kemudi.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
`)
	apply(claimManifest("kept", "keep"))
	apply(volumePod("keeper", "kept", "", false, "echo retained > /data/msg"))
	podDone("keeper")
	keptPV := n.kubectl("get", "pvc", "kept", "-o", "jsonpath={.spec.volumeName}")
	keptDir := n.kubectl("get", "pv", keptPV, "-o", "jsonpath={.spec.local.path}")
	checkVolumeStats(t, n, "node-1", "stats", "cache", "stats-data")
	n.kubectl("delete", "pod", "keeper", "reader", "stats", "--wait=true", "--timeout=120s")
	n.kubectl("delete", "pvc", "kept", "data", "stats-data", "--wait=true", "--timeout=120s")
	eventuallyKubectl(t, n, time.Minute, "the Delete volume gone, the Retain one Released", func() (bool, string) {
		out, err := n.tryKubectl("get", "pv", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}`)
		return err == nil && strings.TrimSpace(out) == keptPV+"=Released", out
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the Delete volume's directory %s: %v, want it removed", dir, err)
	}
	if data, err := os.ReadFile(filepath.Join(keptDir, "msg")); err != nil || string(data) != "retained\n" {
		t.Errorf("the Retain volume's data: %q, %v", data, err)
	}
}

func claimManifest(name, class string) string {
	m := `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: NAME}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
`
	if class != "" {
		m += "  storageClassName: " + class + "\n"
	}
	return strings.ReplaceAll(m, "NAME", name)
}

// volumePod runs script once as user 1000 with fsGroup 2000, with claim
// mounted at /data (read-only if asked) and its "sub" directory at /sub.
func volumePod(name, claim, nodeSelector string, readOnly bool, script string) string {
	if nodeSelector == "" {
		nodeSelector = "{}"
	}
	ro := "false"
	if readOnly {
		ro = "true"
	}
	subMount := ""
	if readOnly {
		subMount = "\n    - {name: data, mountPath: /sub, subPath: sub}"
	}
	r := strings.NewReplacer("NAME", name, "CLAIM", claim, "SELECTOR", nodeSelector, "RO", ro, "SUBMOUNT", subMount, "SCRIPT", script)
	return r.Replace(`apiVersion: v1
kind: Pod
metadata: {name: NAME}
spec:
  restartPolicy: Never
  nodeSelector: SELECTOR
  securityContext: {runAsUser: 1000, fsGroup: 2000}
  containers:
  - name: c
    image: IMAGE
    command: [sh, -c, "SCRIPT"]
    volumeMounts:
    - {name: data, mountPath: /data}SUBMOUNT
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: CLAIM, readOnly: RO}
`)
}

// checkVolumeStats waits for node's kubelet to report pod's emptyDir
// with its 1 MiB in /stats/summary, and the claim's used bytes (1 MiB
// at least) in /metrics.
func checkVolumeStats(t *testing.T, n *serverNode, node, pod, emptyDir, claim string) {
	t.Helper()
	start := time.Now()
	var found string
	eventuallyKubectl(t, n, 3*time.Minute, pod+"'s volumes in stats/summary", func() (bool, string) {
		raw, err := n.tryKubectl("get", "--raw", "/api/v1/nodes/"+node+"/proxy/stats/summary")
		if err != nil {
			return false, raw
		}
		var sum struct {
			Pods []struct {
				PodRef struct{ Name, Namespace string }
				Volume []struct {
					Name       string
					UsedBytes  uint64
					InodesUsed uint64
					PVCRef     *struct{ Name, Namespace string }
				}
				EphemeralStorage struct{ UsedBytes uint64 } `json:"ephemeral-storage"`
			}
		}
		if err := json.Unmarshal([]byte(raw), &sum); err != nil {
			return false, err.Error()
		}
		for _, p := range sum.Pods {
			if p.PodRef.Name != pod || p.PodRef.Namespace != "default" {
				continue
			}
			var dir, pvc bool
			for _, v := range p.Volume {
				dir = dir || v.Name == emptyDir && v.UsedBytes >= 1<<20 && v.InodesUsed >= 2 && v.PVCRef == nil
				pvc = pvc || v.PVCRef != nil && v.PVCRef.Name == claim && v.UsedBytes >= 1<<20
			}
			found = fmt.Sprintf("%+v", p)
			return dir && pvc && p.EphemeralStorage.UsedBytes >= 1<<20, found
		}
		return false, "no pod " + pod
	})
	t.Logf("%s's volumes in stats/summary after %s: %s", pod, time.Since(start).Round(time.Second), found)
	re := regexp.MustCompile(`(?m)^kubelet_volume_stats_used_bytes\{namespace="default",persistentvolumeclaim="` + claim + `"\} ([0-9.e+]+)$`)
	eventuallyKubectl(t, n, time.Minute, claim+"'s kubelet_volume_stats_used_bytes", func() (bool, string) {
		out, err := n.tryKubectl("get", "--raw", "/api/v1/nodes/"+node+"/proxy/metrics")
		m := re.FindStringSubmatch(out)
		if err != nil || m == nil {
			return false, out
		}
		v, err := strconv.ParseFloat(m[1], 64)
		found = m[0]
		return err == nil && v >= 1<<20, m[0]
	})
	t.Logf("%s", found)
}
