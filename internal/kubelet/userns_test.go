package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

func usernsPod(uid string, hostUsers *bool) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: corev1.PodSpec{HostUsers: hostUsers}}
}

// TestUsernsBlocks: pods on the host's users get the node's namespace;
// others each get a block of 65536 IDs of their own, the same one again
// after a kubelet restart, and a freed block goes to the next pod.
func TestUsernsBlocks(t *testing.T) {
	dir := t.TempDir()
	m, err := newUsernsManager(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := func(m *usernsManager, pod *corev1.Pod) int64 {
		t.Helper()
		o, err := m.options(pod)
		if err != nil {
			t.Fatalf("pod %s: %v", pod.UID, err)
		}
		if o.Mode == runtimeapi.NamespaceMode_NODE {
			if len(o.Uids)+len(o.Gids) != 0 {
				t.Errorf("pod %s: the node's namespace with mappings %v %v", pod.UID, o.Uids, o.Gids)
			}
			return -1
		}
		if o.Mode != runtimeapi.NamespaceMode_POD || len(o.Uids) != 1 || len(o.Gids) != 1 || o.Uids[0].String() != o.Gids[0].String() ||
			o.Uids[0].ContainerId != 0 || o.Uids[0].Length != 65536 {
			t.Fatalf("pod %s: %v", pod.UID, o)
		}
		return int64(o.Uids[0].HostId)
	}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want int64
	}{
		{usernsPod("host-default", nil), -1},
		{usernsPod("host", ptr.To(true)), -1},
		{usernsPod("a", ptr.To(false)), 65536},
		{usernsPod("b", ptr.To(false)), 131072},
		{usernsPod("a", ptr.To(false)), 65536},
	} {
		if got := first(m, tc.pod); got != tc.want {
			t.Errorf("pod %s: first host ID %d, want %d", tc.pod.UID, got, tc.want)
		}
	}

	// A restarted kubelet reads the blocks back from the pods' directories.
	m2, err := newUsernsManager(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := first(m2, usernsPod("b", ptr.To(false))); got != 131072 {
		t.Errorf("b after a restart: %d, want 131072", got)
	}
	if got := first(m2, usernsPod("c", ptr.To(false))); got != 196608 {
		t.Errorf("c after a restart: %d, want 196608", got)
	}
	// a's directory goes with the pod: its block is free again.
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	m2.release("a")
	if got := first(m2, usernsPod("d", ptr.To(false))); got != 65536 {
		t.Errorf("d after a's removal: %d, want 65536", got)
	}
}

// TestUsernsBadFiles: a pod directory whose userns file upstream would
// refuse stops the kubelet with upstream's reason, not a pod given IDs
// another holds.
func TestUsernsBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"not json", "{", "invalid user namespace mappings file"},
		{"two mappings", `{"uidMappings":[{"hostId":65536,"containerId":0,"length":65536},{"hostId":131072,"containerId":65536,"length":65536}],"gidMappings":[{"hostId":65536,"containerId":0,"length":65536}]}`, "no more than one mapping allowed"},
		{"uid and gid differ", `{"uidMappings":[{"hostId":65536,"containerId":0,"length":65536}],"gidMappings":[{"hostId":131072,"containerId":0,"length":65536}]}`, "GID and UID mappings should be identical"},
		{"root unmapped", `{"uidMappings":[{"hostId":65536,"containerId":1,"length":65536}],"gidMappings":[{"hostId":65536,"containerId":1,"length":65536}]}`, "UID 0 must be mapped"},
		{"short", `{"uidMappings":[{"hostId":65536,"containerId":0,"length":1000}],"gidMappings":[{"hostId":65536,"containerId":0,"length":1000}]}`, "wrong user namespace length 1000"},
		{"the host's root", `{"uidMappings":[{"hostId":0,"containerId":0,"length":65536}],"gidMappings":[{"hostId":0,"containerId":0,"length":65536}]}`, "wrong user namespace offset specified 0"},
		{"unaligned", `{"uidMappings":[{"hostId":70000,"containerId":0,"length":65536}],"gidMappings":[{"hostId":70000,"containerId":0,"length":65536}]}`, "wrong user namespace offset specified 70000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "p"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "p", usernsFile), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := newUsernsManager(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// Two pods claiming one block.
	dir := t.TempDir()
	block := `{"uidMappings":[{"hostId":65536,"containerId":0,"length":65536}],"gidMappings":[{"hostId":65536,"containerId":0,"length":65536}]}`
	for _, p := range []string{"p1", "p2"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p, usernsFile), []byte(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := newUsernsManager(dir); err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("two pods on one block: %v", err)
	}
}
