package cri

import (
	"os"
	"path/filepath"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandbox is the record of a pod sandbox. Its state machine is
// READY (RunPodSandbox succeeded) → NOTREADY (StopPodSandbox, or its
// namespaces are gone) → removed.
type sandbox struct {
	ID             string                       `json:"id"`
	Config         *runtimeapi.PodSandboxConfig `json:"config"`
	RuntimeHandler string                       `json:"runtimeHandler,omitempty"`
	State          runtimeapi.PodSandboxState   `json:"state"`
	CreatedAt      int64                        `json:"createdAt"` // unix ns
	CgroupParent   string                       `json:"cgroupParent"`
	NetNS          string                       `json:"netns,omitempty"` // "" = host network
	IPCNS          string                       `json:"ipcns,omitempty"`
	UTSNS          string                       `json:"utsns,omitempty"`
	PIDNS          string                       `json:"pidns,omitempty"`
	IPs            []string                     `json:"ips,omitempty"`
	Dir            string                       `json:"dir"` // hosts, hostname, resolv.conf
	// ShmPath is the pod's /dev/shm, shared by its containers as their IPC
	// namespace is ("" in records of older runtimes: a tmpfs each).
	ShmPath      string `json:"shmPath,omitempty"`
	NetworkReady bool   `json:"networkReady"`
	// UserNS is the pod's user namespace ("" = the host's), made with the
	// mappings its config's UsernsOptions give.
	UserNS string `json:"userns,omitempty"`
}

func sandboxID(s *sandbox) string { return s.ID }

func (s *sandbox) hostsPath() string    { return filepath.Join(s.Dir, "hosts") }
func (s *sandbox) hostnamePath() string { return filepath.Join(s.Dir, "hostname") }
func (s *sandbox) resolvPath() string   { return filepath.Join(s.Dir, "resolv.conf") }

// usernsOptions is the pod's own user namespace, nil for the host's.
func (s *sandbox) usernsOptions() *runtimeapi.UserNamespace {
	return podUserns(s.namespaceOptions().GetUsernsOptions())
}

// namespaceOptions never returns nil, so that callers can read modes.
func (s *sandbox) namespaceOptions() *runtimeapi.NamespaceOption {
	if o := s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions(); o != nil {
		return o
	}
	return &runtimeapi.NamespaceOption{}
}

func (s *sandbox) hostNetwork() bool {
	return s.namespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
}

func (s *sandbox) privileged() bool {
	return s.Config.GetLinux().GetSecurityContext().GetPrivileged()
}

// hostname is what the pod's UTS namespace and /etc/hostname say: the
// config's, else the node's (as containerd does: a pod name may be longer
// than a hostname can be).
func (s *sandbox) hostname() string {
	if h := s.Config.GetHostname(); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
