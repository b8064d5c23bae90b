package cri

import (
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestValidateUserns(t *testing.T) {
	ids := func(c, h, l uint32) []*runtimeapi.IDMapping {
		return []*runtimeapi.IDMapping{{ContainerId: c, HostId: h, Length: l}}
	}
	good := ids(0, 65536, 65536)
	for _, tc := range []struct {
		name string
		nso  *runtimeapi.NamespaceOption
		err  string
	}{
		{"none", nil, ""},
		{"node", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}}, ""},
		{"pod", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: good, Gids: good}}, ""},
		{"node with mappings", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE, Uids: good}}, "not allowed with mode NODE"},
		{"container mode", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_CONTAINER}}, "unsupported user namespace mode CONTAINER"},
		{"target mode", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_TARGET}}, "unsupported user namespace mode TARGET"},
		{"no mappings", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}}, "exactly one uid and one gid mapping, not 0 and 0"},
		{"two mappings", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD,
			Uids: append(ids(0, 1000, 100000), ids(0, 2000, 100000)...), Gids: good}}, "not 2 and 1"},
		{"root unmapped", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: ids(1, 1000, 100000), Gids: good}}, "must map container ID 0"},
		{"empty mapping", &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: good, Gids: ids(0, 65536, 0)}}, "must map container ID 0"},
		{"host network", &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE,
			UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: good, Gids: good}}, "cannot use the host's network namespace"},
		{"host pid", &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE,
			UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: good, Gids: good}}, "cannot use the host's pid namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: tc.nso}}}
			err := validateUserns(cfg)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || grpcCode(err) != "InvalidArgument" {
				t.Fatalf("got %v, want InvalidArgument %q", err, tc.err)
			}
		})
	}
}
