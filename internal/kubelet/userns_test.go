package kubelet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

func usernsPod(uid string, hostUsers *bool) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: corev1.PodSpec{HostUsers: hostUsers}}
}

// testUsernsConfig is a node without a "kubelet" user (the default
// range) that runs upstream's default 110 pods.
func testUsernsConfig(idsPerPod int64) usernsConfig {
	return usernsConfig{idsPerPod: idsPerPod, maxPods: 110, subIDs: subIDs{lookup: func(name string) (*user.User, error) {
		return nil, user.UnknownUserError(name)
	}}}
}

// usernsFirst is the first host ID of the pod's mapping, which must be
// one of size IDs from the pod's 0, the same for users and groups; -1
// for the node's namespace.
func usernsFirst(t *testing.T, m *usernsManager, pod *corev1.Pod, size uint32) int64 {
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
		o.Uids[0].ContainerId != 0 || o.Uids[0].Length != size {
		t.Fatalf("pod %s: %v, want one mapping of %d IDs from 0", pod.UID, o, size)
	}
	return int64(o.Uids[0].HostId)
}

// TestUsernsBlocks: pods on the host's users get the node's namespace;
// others each get a block of 65536 IDs of their own, the same one again
// after a kubelet restart, and a freed block goes to the next pod.
func TestUsernsBlocks(t *testing.T) {
	dir := t.TempDir()
	m, err := newUsernsManager(dir, testUsernsConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	first := func(m *usernsManager, pod *corev1.Pod) int64 { t.Helper(); return usernsFirst(t, m, pod, 65536) }
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
	m2, err := newUsernsManager(dir, testUsernsConfig(0))
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
		{"the host's root", `{"uidMappings":[{"hostId":0,"containerId":0,"length":65536}],"gidMappings":[{"hostId":0,"containerId":0,"length":65536}]}`, "id 0 is out of range"},
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
			_, err := newUsernsManager(dir, testUsernsConfig(0))
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
	if _, err := newUsernsManager(dir, testUsernsConfig(0)); err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("two pods on one block: %v", err)
	}
}

// TestUsernsIDsPerPod: with idsPerPod 131072 each pod gets 131072 IDs
// from a multiple of 131072, the first at 131072 (below it: the host's).
func TestUsernsIDsPerPod(t *testing.T) {
	dir := t.TempDir()
	m, err := newUsernsManager(dir, testUsernsConfig(131072))
	if err != nil {
		t.Fatal(err)
	}
	for i, uid := range []string{"a", "b", "c"} {
		if got, want := usernsFirst(t, m, usernsPod(uid, ptr.To(false)), 131072), int64(i+1)*131072; got != want {
			t.Errorf("pod %s: first host ID %d, want %d", uid, got, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "b", usernsFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"uidMappings":[{"hostId":262144,"containerId":0,"length":131072}],"gidMappings":[{"hostId":262144,"containerId":0,"length":131072}]}`; string(b) != want {
		t.Errorf("b's userns file %s, want %s", b, want)
	}
}

// TestUsernsIDsPerPodChanged: a kubelet started again with another
// idsPerPod does not start while a pod's directory holds a block of the
// old length, as upstream's: its user namespace manager is not made.
func TestUsernsIDsPerPodChanged(t *testing.T) {
	dir := t.TempDir()
	m, err := newUsernsManager(dir, testUsernsConfig(65536))
	if err != nil {
		t.Fatal(err)
	}
	usernsFirst(t, m, usernsPod("old", ptr.To(false)), 65536)
	_, err = newUsernsManager(dir, testUsernsConfig(131072))
	if want := `record pod mappings for existing pod "old": wrong user namespace length 65536`; err == nil || err.Error() != want {
		t.Fatalf("restart with 131072: %v, want %q", err, want)
	}

	// The kubelet itself: New fails, before it dials the runtime.
	o := DefaultOptions()
	o.NodeName, o.NodeIPs, o.RootDir = "n", []net.IP{net.IPv4(127, 0, 0, 1)}, filepath.Dir(dir)
	o.RuntimeEndpoint = "unix://" + filepath.Join(t.TempDir(), "none.sock")
	o.UsernsIDsPerPod = 131072
	if err := os.Rename(dir, podsDir(o.RootDir)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(&rest.Config{Host: "https://127.0.0.1:1"}, o); err == nil || !strings.Contains(err.Error(), "wrong user namespace length 65536") {
		t.Fatalf("kubelet.New with --userns-ids-per-pod 131072 over a 65536 block: %v", err)
	}
	// Back to the old length, it starts and the pod keeps its block.
	m, err = newUsernsManager(podsDir(o.RootDir), testUsernsConfig(65536))
	if err != nil {
		t.Fatal(err)
	}
	if got := usernsFirst(t, m, usernsPod("old", ptr.To(false)), 65536); got != 65536 {
		t.Errorf("old after going back to 65536: %d", got)
	}
}

func TestValidateUsernsIDsPerPod(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{65536, ""},
		{131072, ""},
		{4294901760, ""}, // the largest multiple of 65536 under 2^32
		{0, "invalid configuration: userNamespaces.idsPerPod must not be less than 65536"},
		{-65536, "invalid configuration: userNamespaces.idsPerPod must not be less than 65536"},
		{65535, "invalid configuration: userNamespaces.idsPerPod must not be less than 65536"},
		{100000, "invalid configuration: userNamespaces.idsPerPod must be a multiple of 65536"},
		{1 << 32, "invalid configuration: userNamespaces.idsPerPod must not be more than 4294967295"},
	} {
		err := ValidateUsernsIDsPerPod(tc.n)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("%d: %v, want %q", tc.n, err, tc.want)
		}
	}
}

// TestCutUsernsRange: the node's range, default or the "kubelet"
// user's, is cut into whole blocks above the host's own IDs, enough for
// its pods, or refused with upstream's reason.
func TestCutUsernsRange(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		first, length, idsPerPod uint32
		maxPods                  int64
		want                     usernsBlocks
		err                      string
	}{
		{name: "default", first: 65536, length: 1<<32 - 65536, idsPerPod: 65536, maxPods: 110, want: usernsBlocks{65536, 1, 65535}},
		{name: "default 131072", first: 131072, length: 1<<32 - 131072, idsPerPod: 131072, maxPods: 110, want: usernsBlocks{131072, 1, 32767}},
		{name: "subuid", first: 1 << 20, length: 110 * 65536, idsPerPod: 65536, maxPods: 110, want: usernsBlocks{65536, 16, 110}},
		{name: "subuid 131072", first: 1 << 20, length: 200 * 131072, idsPerPod: 131072, maxPods: 110, want: usernsBlocks{131072, 8, 200}},
		{name: "too few", first: 1 << 20, length: 109 * 65536, idsPerPod: 65536, maxPods: 110, err: "kubelet user assigned IDs are not enough to support 110 pods"},
		{name: "default too few", first: 1 << 31, length: 1 << 31, idsPerPod: 1 << 31, maxPods: 110, err: "kubelet user assigned IDs are not enough to support 110 pods"},
		{name: "unaligned start", first: 100000, length: 110 * 65536, idsPerPod: 65536, maxPods: 110, err: "kubelet user assigned ID 100000 is not a multiple of 65536"},
		{name: "start aligned to 65536 only", first: 196608, length: 220 * 65536, idsPerPod: 131072, maxPods: 110, err: "kubelet user assigned ID 196608 is not a multiple of 131072"},
		{name: "the host's root", first: 0, length: 200 * 65536, idsPerPod: 65536, maxPods: 110, err: "kubelet user assigned ID 0 must be greater or equal to 65536"},
		{name: "partial block", first: 65536, length: 110*65536 + 1000, idsPerPod: 65536, maxPods: 110, err: "kubelet user assigned IDs length 7209960 is not a multiple of 65536"},
		{name: "past 2^32", first: 1<<32 - 65536, length: 110 * 65536, idsPerPod: 65536, maxPods: 110, err: "go past the last ID 4294967295"},
		{name: "bad idsPerPod", first: 65536, length: 1<<32 - 65536, idsPerPod: 1000, maxPods: 110, err: "kubelet user namespace length 1000 is not a multiple of 65536"},
	} {
		got, err := cutUsernsRange(tc.first, tc.length, tc.idsPerPod, tc.maxPods)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %+v, %v; want %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestUsernsBlocksArithmetic: the blocks of a range start where the
// range does and end with it; IDs outside it have no block.
func TestUsernsBlocksArithmetic(t *testing.T) {
	b := usernsBlocks{size: 131072, off: 8, n: 3}
	for i, want := range []uint32{1 << 20, 1<<20 + 131072, 1<<20 + 262144} {
		if got := b.first(uint32(i)); got != want {
			t.Errorf("first(%d) = %d, want %d", i, got, want)
		}
		if got, ok := b.index(want); !ok || got != uint32(i) {
			t.Errorf("index(%d) = %d, %v; want %d", want, got, ok, i)
		}
	}
	for _, id := range []uint32{0, 1<<20 - 131072, 1<<20 + 3*131072} {
		if i, ok := b.index(id); ok {
			t.Errorf("index(%d) = %d, want none", id, i)
		}
	}
	top := usernsBlocks{size: 65536, off: 1, n: 65535}
	if got := top.first(65534); got != 1<<32-65536 {
		t.Errorf("last default block at %d, want %d", got, uint32(1<<32-65536))
	}
}

func TestParseSubIDs(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []idRange
		err        string
	}{
		{name: "by name", data: "alice:100000:65536\nkubelet:1048576:7208960\n", want: []idRange{{1048576, 7208960}}},
		{name: "by uid", data: "alice:100000:65536\n999:1048576:7208960\n", want: []idRange{{1048576, 7208960}}},
		{name: "several", data: "kubelet:1048576:65536\n999:2097152:65536\n", want: []idRange{{1048576, 65536}, {2097152, 65536}}},
		{name: "none", data: "alice:100000:65536\n"},
		{name: "empty file"},
		{name: "others' lines are theirs", data: "# a comment\n\nbob:x\nkubelet2:1:2\nkubelet:65536:65536\n", want: []idRange{{65536, 65536}}},
		{name: "bad start", data: "kubelet:x:65536\n", err: `line 1: "kubelet:x:65536": start`},
		{name: "bad count", data: "alice:1:1\nkubelet:65536:-1\n", err: `line 2: "kubelet:65536:-1": count`},
		{name: "past 32 bits", data: "kubelet:4294967296:1\n", err: "value out of range"},
		{name: "fields", data: "kubelet:65536\n", err: `line 1: "kubelet:65536" is not owner:start:count`},
	} {
		got, err := parseSubIDs([]byte(tc.data), "kubelet", "999")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, %v; want %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestKubeletRange: without a "kubelet" user the node's range is every
// ID from idsPerPod up; with one, its single range, the same in subuid
// and subgid, or the kubelet does not start.
func TestKubeletRange(t *testing.T) {
	kubelet := &user.User{Username: "kubelet", Uid: "999", Gid: "999"}
	for _, tc := range []struct {
		name           string
		user           *user.User
		lookupErr      error
		subuid, subgid *string // nil: no file
		first, length  uint32
		err            string
	}{
		{name: "no kubelet user", lookupErr: user.UnknownUserError("kubelet"), first: 131072, length: 1<<32 - 131072},
		{name: "lookup fails", lookupErr: errors.New("nss down"), err: "nss down"},
		{name: "one range", user: kubelet, subuid: ptr.To("kubelet:1048576:14417920\n"), subgid: ptr.To("999:1048576:14417920\n"), first: 1048576, length: 14417920},
		{name: "no files", user: kubelet, err: `error retrieving additional uids for user "kubelet": no `},
		{name: "no gid file", user: kubelet, subuid: ptr.To("kubelet:1048576:14417920\n"), err: `error retrieving additional gids for user "kubelet": no `},
		{name: "no entry", user: kubelet, subuid: ptr.To("alice:100000:65536\n"), subgid: ptr.To("alice:100000:65536\n"), err: `error retrieving additional uids for user "kubelet": no range in`},
		{name: "no gid entry", user: kubelet, subuid: ptr.To("kubelet:1048576:14417920\n"), subgid: ptr.To(""), err: `error retrieving additional gids for user "kubelet": no range in`},
		{name: "several", user: kubelet, subuid: ptr.To("kubelet:1048576:65536\nkubelet:2097152:65536\n"), subgid: ptr.To("kubelet:1048576:65536\n"), err: "it must have exactly one in each"},
		{name: "differ", user: kubelet, subuid: ptr.To("kubelet:1048576:14417920\n"), subgid: ptr.To("kubelet:2097152:14417920\n"), err: `mismatched subuids and subgids for user "kubelet"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := subIDs{subuid: filepath.Join(dir, "subuid"), subgid: filepath.Join(dir, "subgid"), lookup: func(name string) (*user.User, error) {
				if name != "kubelet" {
					t.Errorf("looked up %q", name)
				}
				return tc.user, tc.lookupErr
			}}
			for path, data := range map[string]*string{s.subuid: tc.subuid, s.subgid: tc.subgid} {
				if data != nil {
					if err := os.WriteFile(path, []byte(*data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			first, length, err := s.kubeletRange(131072)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%d %d %v; want %q", first, length, err, tc.err)
				}
				return
			}
			if err != nil || first != tc.first || length != tc.length {
				t.Fatalf("%d %d %v; want %d %d", first, length, err, tc.first, tc.length)
			}
		})
	}
}

// TestUsernsKubeletUserRange: with a "kubelet" user the pods' blocks
// come from its range, and a pod's file from outside it, or a range too
// small for the node's pods, stops the kubelet.
func TestUsernsKubeletUserRange(t *testing.T) {
	dir := t.TempDir()
	files := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(files, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("subuid", "kubelet:1048576:14417920\n") // 220 blocks of 65536, 110 of 131072
	write("subgid", "kubelet:1048576:14417920\n")
	cfg := usernsConfig{idsPerPod: 131072, maxPods: 110, subIDs: subIDs{subuid: filepath.Join(files, "subuid"), subgid: filepath.Join(files, "subgid"),
		lookup: func(string) (*user.User, error) { return &user.User{Username: "kubelet", Uid: "999"}, nil }}}
	m, err := newUsernsManager(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := usernsFirst(t, m, usernsPod("a", ptr.To(false)), 131072); got != 1048576 {
		t.Errorf("a: %d, want the range's first ID 1048576", got)
	}
	if got := usernsFirst(t, m, usernsPod("b", ptr.To(false)), 131072); got != 1048576+131072 {
		t.Errorf("b: %d, want 1179648", got)
	}

	big := cfg
	big.maxPods = 111
	if _, err := newUsernsManager(t.TempDir(), big); err == nil || err.Error() != "kubelet user assigned IDs are not enough to support 111 pods" {
		t.Errorf("111 pods in 110 blocks: %v", err)
	}

	// A pod whose block (the default range's first) lies outside.
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o750); err != nil {
		t.Fatal(err)
	}
	out := `{"uidMappings":[{"hostId":131072,"containerId":0,"length":131072}],"gidMappings":[{"hostId":131072,"containerId":0,"length":131072}]}`
	if err := os.WriteFile(filepath.Join(dir, "out", usernsFile), []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newUsernsManager(dir, cfg); err == nil || !strings.Contains(err.Error(), `existing pod "out": id 131072 is out of range`) {
		t.Errorf("a block outside the range: %v", err)
	}
}
