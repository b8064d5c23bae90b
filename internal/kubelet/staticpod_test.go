package kubelet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const webManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: busybox
    command: ["sleep", "3600"]
`

func TestStaticPod(t *testing.T) {
	p, err := StaticPod([]byte(webManifest), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	hash := p.Annotations[annotationConfigHash]
	checks := []struct {
		what string
		ok   bool
	}{
		{"name <name>-<node>", p.Name == "web-node-1"},
		{"namespace default", p.Namespace == "default"},
		{"bound to the node", p.Spec.NodeName == "node-1"},
		{"UID is the hash", string(p.UID) == hash && len(hash) == 32},
		{"source file", p.Annotations[annotationConfigSource] == "file"},
		{"not a mirror", !isMirrorPod(p) && isStaticPod(p)},
		{"defaulted restart policy", p.Spec.RestartPolicy == corev1.RestartPolicyAlways},
		{"defaulted pull policy", p.Spec.Containers[0].ImagePullPolicy == corev1.PullAlways},
		{"tolerates NoExecute", len(p.Spec.Tolerations) == 1 && p.Spec.Tolerations[0].Effect == corev1.TaintEffectNoExecute &&
			p.Spec.Tolerations[0].Operator == corev1.TolerationOpExists},
		{"labels kept", p.Labels["app"] == "web"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.what, p)
		}
	}
	again, _ := StaticPod([]byte(webManifest), "node-1")
	if again.UID != p.UID {
		t.Errorf("the same file gave another UID: %s, %s", again.UID, p.UID)
	}
	edited, _ := StaticPod([]byte(strings.Replace(webManifest, "3600", "3601", 1)), "node-1")
	if edited.UID == p.UID || edited.Name != p.Name {
		t.Errorf("an edited file: UID %s (was %s), name %s", edited.UID, p.UID, edited.Name)
	}
	other, _ := StaticPod([]byte(webManifest), "node-2")
	if other.UID == p.UID {
		t.Errorf("another node gave the same UID")
	}
	asJSON, err := StaticPod([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"busybox:1"}]}}`), "n")
	if err != nil || asJSON.Name != "j-n" || asJSON.Namespace != "kube-system" || asJSON.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("JSON manifest: %+v, %v", asJSON, err)
	}
}

func TestStaticPodBadManifests(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"not yaml", "{{{", "not YAML or JSON"},
		{"a deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", `want a v1 Pod, got kind "Deployment" apiVersion "apps/v1"`},
		{"no name", "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: c, image: busybox}]\n", "metadata.name: Required value"},
		{"no containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n", "spec.containers"},
		{"no image", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: c}]\n", "image"},
		// API objects: upstream's kubelet refuses them in a manifest.
		{"a service account", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  serviceAccountName: builder\n  containers: [{name: c, image: busybox}]\n",
			"static pods may not reference serviceaccounts"},
		{"a secret in env", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: c, image: busybox, env: [{name: P, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]\n",
			"static pods may not reference secrets"},
		{"a configMap volume", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  volumes: [{name: v, configMap: {name: cm}}]\n  containers: [{name: c, image: busybox}]\n",
			"static pods may not reference configmaps"},
		{"a claim", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]\n  containers: [{name: c, image: busybox}]\n",
			"static pods may not reference persistentvolumeclaims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StaticPod([]byte(tc.manifest), "node-1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestMirror(t *testing.T) {
	p, err := StaticPod([]byte(webManifest), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "n-uid"}}
	m := MirrorPod(p, node)
	if m.UID != "" || m.Annotations[annotationConfigMirror] != string(p.UID) || !isMirrorPod(m) ||
		len(m.OwnerReferences) != 1 || m.OwnerReferences[0].Kind != "Node" || m.OwnerReferences[0].UID != "n-uid" {
		t.Errorf("mirror %+v", m.ObjectMeta)
	}
	if isMirrorPod(p) {
		t.Errorf("MirrorPod changed the static pod")
	}
	stale := MirrorPod(p, node)
	stale.Annotations[annotationConfigMirror] = "old-hash"
	deleting := MirrorPod(p, node)
	deleting.DeletionTimestamp = &metav1.Time{}
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
	tests := []struct {
		name          string
		static, inAPI *corev1.Pod
		want          MirrorAction
	}{
		{"no mirror yet", p, nil, MirrorCreate},
		{"up to date", p, m, MirrorKeep},
		{"the file was edited", p, stale, MirrorDelete},
		{"deleted through kubectl", p, deleting, MirrorDelete},
		{"the file was removed", nil, m, MirrorDelete},
		{"a plain pod holds the name", p, plain, MirrorBlocked},
		{"a plain pod and no static pod: not ours", nil, plain, MirrorKeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MirrorDecision(tc.static, tc.inAPI); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
