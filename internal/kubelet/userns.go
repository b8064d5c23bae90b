package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A pod with spec.hostUsers false runs in a user namespace of its own:
// its IDs 0..idsPerPod-1 are a block of idsPerPod host IDs that no other
// pod and nothing on the host uses, taken from the node's range
// (userns_range.go). The block is kept in the pod's directory (the file
// "userns", upstream's name and format) so that a restarted kubelet
// gives the pod the same IDs, and freed when the pod's directory goes.
const usernsFile = "userns"

// usernsMapping is upstream's userns file.
type usernsMapping struct {
	UIDMappings []idMapping `json:"uidMappings"`
	GIDMappings []idMapping `json:"gidMappings"`
}

type idMapping struct {
	HostID      uint32 `json:"hostId"`
	ContainerID uint32 `json:"containerId"`
	Length      uint32 `json:"length"`
}

// usernsManager hands out and remembers the pods' ID blocks.
type usernsManager struct {
	podsDir string
	blocks  usernsBlocks
	mu      sync.Mutex
	used    map[uint32]types.UID // block of the range (0..blocks.n-1) -> pod
	byPod   map[types.UID]uint32
}

// usernsConfig is what the manager's range is made of.
type usernsConfig struct {
	idsPerPod int64 // 0 is DefaultUsernsIDsPerPod
	maxPods   int64
	subIDs    subIDs
}

// newUsernsManager cuts the node's range into blocks and records those
// the pods' directories hold. As upstream's, it fails, and the kubelet
// with it, when the range cannot give maxPods pods a block or a pod's
// file names a block it would not hand out (another length after
// idsPerPod changed, outside the range, another pod's).
func newUsernsManager(podsDir string, cfg usernsConfig) (*usernsManager, error) {
	if cfg.idsPerPod == 0 {
		cfg.idsPerPod = DefaultUsernsIDsPerPod
	}
	if err := ValidateUsernsIDsPerPod(cfg.idsPerPod); err != nil {
		return nil, err
	}
	size := uint32(cfg.idsPerPod)
	first, length, err := cfg.subIDs.kubeletRange(size)
	if err != nil {
		return nil, fmt.Errorf("kubelet mappings: %w", err)
	}
	blocks, err := cutUsernsRange(first, length, size, cfg.maxPods)
	if err != nil {
		return nil, err
	}
	m := &usernsManager{podsDir: podsDir, blocks: blocks, used: map[uint32]types.UID{}, byPod: map[types.UID]uint32{}}
	entries, err := os.ReadDir(podsDir)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("user namespaces: read pods from disk: %w", err)
	}
	for _, e := range entries {
		uid := types.UID(e.Name())
		mp, ok, err := m.load(uid)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := m.record(uid, mp); err != nil {
			return nil, fmt.Errorf("record pod mappings for existing pod %q: %w", uid, err)
		}
	}
	return m, nil
}

// hostUsers reports whether the pod runs in the host's user namespace.
func hostUsers(pod *corev1.Pod) bool { return pod.Spec.HostUsers == nil || *pod.Spec.HostUsers }

// options is the CRI's user namespace for the pod: the node's, or the
// pod's own with its block (allocated on first use).
func (m *usernsManager) options(pod *corev1.Pod) (*runtimeapi.UserNamespace, error) {
	if hostUsers(pod) {
		return &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}, nil
	}
	first, err := m.block(pod.UID)
	if err != nil {
		return nil, err
	}
	size := m.blocks.size
	ids := []*runtimeapi.IDMapping{{HostId: first, ContainerId: 0, Length: size}}
	gids := []*runtimeapi.IDMapping{{HostId: first, ContainerId: 0, Length: size}}
	return &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: ids, Gids: gids}, nil
}

// block is the first host ID of the pod's block: the one it holds, or
// the lowest free one, written to its directory before it is used.
func (m *usernsManager) block(uid types.UID) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.byPod[uid]; ok {
		return m.blocks.first(i), nil
	}
	for i := uint32(0); i < m.blocks.n; i++ {
		if _, taken := m.used[i]; taken {
			continue
		}
		first, size := m.blocks.first(i), m.blocks.size
		mp := usernsMapping{
			UIDMappings: []idMapping{{HostID: first, ContainerID: 0, Length: size}},
			GIDMappings: []idMapping{{HostID: first, ContainerID: 0, Length: size}},
		}
		if err := m.save(uid, mp); err != nil {
			return 0, err
		}
		m.used[i], m.byPod[uid] = uid, i
		return first, nil
	}
	return 0, fmt.Errorf("create user namespace: could not find an empty slot to allocate a user namespace")
}

// release frees the pod's block (its directory is gone).
func (m *usernsManager) release(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.byPod[uid]; ok {
		delete(m.used, i)
		delete(m.byPod, uid)
	}
}

// record takes a block read from disk, refusing what upstream refuses.
func (m *usernsManager) record(uid types.UID, mp usernsMapping) error {
	if len(mp.UIDMappings) != 1 || len(mp.GIDMappings) != 1 {
		return fmt.Errorf("invalid user namespace configuration: no more than one mapping allowed")
	}
	u, g := mp.UIDMappings[0], mp.GIDMappings[0]
	if u != g {
		return fmt.Errorf("invalid user namespace configuration: GID and UID mappings should be identical")
	}
	if u.ContainerID != 0 {
		return fmt.Errorf("invalid user namespace configuration: UID 0 must be mapped")
	}
	if u.Length != m.blocks.size {
		return fmt.Errorf("wrong user namespace length %v", u.Length)
	}
	if u.HostID%m.blocks.size != 0 {
		return fmt.Errorf("wrong user namespace offset specified %v", u.HostID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.byPod[uid]; ok && m.blocks.first(prev) != u.HostID {
		return fmt.Errorf("different user namespace range already used by pod %q", uid)
	}
	i, ok := m.blocks.index(u.HostID)
	if !ok {
		return fmt.Errorf("id %v is out of range", u.HostID)
	}
	if other, taken := m.used[i]; taken && other != uid {
		return fmt.Errorf("range picked for pod %q already taken", other)
	}
	m.used[i], m.byPod[uid] = uid, i
	return nil
}

func (m *usernsManager) load(uid types.UID) (usernsMapping, bool, error) {
	b, err := os.ReadFile(filepath.Join(m.podsDir, string(uid), usernsFile))
	if errors.Is(err, os.ErrNotExist) {
		return usernsMapping{}, false, nil
	}
	if err != nil {
		return usernsMapping{}, false, fmt.Errorf("user namespace of pod %q: %w", uid, err)
	}
	var mp usernsMapping
	if err := json.Unmarshal(b, &mp); err != nil {
		return usernsMapping{}, false, fmt.Errorf("invalid user namespace mappings file of pod %q: %w", uid, err)
	}
	return mp, true, nil
}

func (m *usernsManager) save(uid types.UID, mp usernsMapping) error {
	if err := savePodFile(filepath.Join(m.podsDir, string(uid)), usernsFile, mp); err != nil {
		return fmt.Errorf("save user namespace: %w", err)
	}
	return nil
}

// supportsUserns refuses a pod in its own user namespace when the
// runtime's handler says it cannot make one, in upstream's words.
func (k *Kubelet) supportsUserns(ctx context.Context, handler string) error {
	msg := "can't set `spec.hostUsers: false`, runtime does not support user namespaces"
	if handler != "" {
		msg = fmt.Sprintf("can't set `spec.hostUsers: false`, RuntimeClass handler %q does not support user namespaces", handler)
	}
	st, err := k.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return fmt.Errorf("%s: %w", msg, err)
	}
	for _, h := range st.GetRuntimeHandlers() {
		if h.GetName() == handler && h.GetFeatures().GetUserNamespaces() {
			return nil
		}
	}
	return errors.New(msg)
}
