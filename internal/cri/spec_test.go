package cri

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const testCtrID = "c0ffee0000000000000000000000000000000000000000000000000000000000"

func testSandbox(mut func(*sandbox)) *sandbox {
	sb := &sandbox{
		ID: "5a9d000000000000000000000000000000000000000000000000000000000000",
		Config: &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "uid-1"},
			Hostname: "web-0",
			Linux:    &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}},
		},
		CgroupParent: "/kubepods/besteffort/poduid-1",
		NetNS:        "/run/kemudi/runtime/netns/5a9d",
		IPCNS:        "/var/lib/kemudi/supervisor/sandboxes/5a9d/ipc",
		UTSNS:        "/var/lib/kemudi/supervisor/sandboxes/5a9d/uts",
		PIDNS:        "/var/lib/kemudi/supervisor/sandboxes/5a9d/pid",
		Dir:          "/var/lib/kemudi/agent/runtime/sandboxes/5a9d",
		ShmPath:      "/var/lib/kemudi/agent/runtime/sandboxes/5a9d/shm",
	}
	if mut != nil {
		mut(sb)
	}
	return sb
}

var busyboxImage = image.ImageConfig{
	Env: []string{"PATH=/usr/local/bin:/bin", "LANG=C"}, Cmd: []string{"sh"}, WorkingDir: "/srv", StopSignal: "SIGQUIT",
}

func testInput(cfg *runtimeapi.ContainerConfig, mut func(*specInput)) specInput {
	if cfg.Metadata == nil {
		cfg.Metadata = &runtimeapi.ContainerMetadata{Name: "app"}
	}
	if cfg.Image == nil {
		cfg.Image = &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:1"}
	}
	in := specInput{
		ID: testCtrID, Config: cfg, Sandbox: testSandbox(nil), Image: busyboxImage,
		Rootfs: "/var/lib/kemudi/agent/runtime/containers/c0ffee/rootfs", SwapAvailable: true,
	}
	if mut != nil {
		mut(&in)
	}
	return in
}

// TestBuildSpec compares the OCI spec of each CRI config with its golden
// file (go test -run TestBuildSpec -update rewrites them).
func TestBuildSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   specInput
	}{
		{"defaults", testInput(&runtimeapi.ContainerConfig{}, nil)},
		{"own-pid-namespace", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
			}},
		}, func(in *specInput) { in.Sandbox.PIDNS = "" })},
		{"command-args-env", testInput(&runtimeapi.ContainerConfig{
			Command:    []string{"/bin/server"},
			Args:       []string{"--port", "8080"},
			Envs:       []*runtimeapi.KeyValue{{Key: "LANG", Value: []byte("C.UTF-8")}, {Key: "MODE", Value: []byte("prod")}},
			WorkingDir: "/app",
		}, nil)},
		{"args-only-keep-entrypoint", testInput(&runtimeapi.ContainerConfig{Args: []string{"-c", "echo hi"}}, func(in *specInput) {
			in.Image.Entrypoint = []string{"/bin/sh"}
		})},
		{"resources-user-caps", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{
				Resources: &runtimeapi.LinuxContainerResources{
					CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 64 << 20, OomScoreAdj: -997,
				},
				SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
					Capabilities:       &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"CAP_MKNOD", "kill"}},
					NoNewPrivs:         true,
					ReadonlyRootfs:     true,
					SupplementalGroups: []int64{2000},
					NamespaceOptions:   &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD},
				},
			},
		}, func(in *specInput) {
			in.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}}
			in.MinOOMScoreAdj = -500
		})},
		{"mounts", testInput(&runtimeapi.ContainerConfig{
			Mounts: []*runtimeapi.Mount{
				{ContainerPath: "/data", HostPath: "/var/lib/kubelet/pods/uid-1/volumes/data", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
				{ContainerPath: "/etc/hosts", HostPath: "/var/lib/kubelet/pods/uid-1/etc-hosts"},
				{ContainerPath: "/dev/termination-log", HostPath: "/var/lib/kubelet/pods/uid-1/containers/app/0", Readonly: false},
				{ContainerPath: "/secrets", HostPath: "/var/lib/kubelet/pods/uid-1/volumes/secret", Readonly: true, RecursiveReadOnly: true},
				{ContainerPath: "/shared", HostPath: "/var/lib/kubelet/pods/uid-1/volumes/shared", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
			},
		}, nil)},
		{"host-namespaces", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE},
			}},
		}, func(in *specInput) {
			in.Sandbox.NetNS, in.Sandbox.IPCNS, in.Sandbox.UTSNS, in.Sandbox.PIDNS = "", "", "", ""
			in.Sandbox.Config.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE},
			}
		})},
		{"privileged", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}},
		}, func(in *specInput) {
			in.Sandbox.Config.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{Privileged: true}
		})},
		// A pod in its own user namespace: joined by path, and every bind
		// mount idmapped through it but an image volume's (its overlay is
		// of idmapped layers already).
		{"user-namespace", testInput(&runtimeapi.ContainerConfig{
			Mounts: []*runtimeapi.Mount{
				{ContainerPath: "/data", HostPath: "/var/lib/kubelet/pods/uid-1/volumes/data"},
				{ContainerPath: "/tools", HostPath: "/var/lib/kemudi/agent/runtime/containers/c1/image-volumes/1", Readonly: true,
					Image: &runtimeapi.ImageSpec{Image: "sha256:a7399b3801469ac61eab843ed32be03ebe14224998b1a09d8bcb7fb1f36fabfd"}},
			},
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD,
					Uids: []*runtimeapi.IDMapping{{HostId: 65536, Length: 65536}}, Gids: []*runtimeapi.IDMapping{{HostId: 65536, Length: 65536}}}},
			}},
		}, func(in *specInput) { in.Sandbox.UserNS = "/run/kemudi/supervisor/sandboxes/sb1/user" })},
		{"seccomp-runtime-default", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			}},
		}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := buildSpec(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "spec", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
				t.Errorf("spec differs from %s (run with -update after checking):\n%s", golden, got)
			}
		})
	}
}

// TestBuildSpecInvalid: each bad config is refused naming its field.
func TestBuildSpecInvalid(t *testing.T) {
	res := func(r *runtimeapi.LinuxContainerResources) *runtimeapi.ContainerConfig {
		return &runtimeapi.ContainerConfig{Linux: &runtimeapi.LinuxContainerConfig{Resources: r}}
	}
	for _, tc := range []struct {
		name  string
		in    specInput
		field string
	}{
		{"cpu quota 0 with a period", testInput(res(&runtimeapi.LinuxContainerResources{CpuQuota: 0, CpuPeriod: 100000}), nil), "config.linux.resources.cpu_quota"},
		{"cpu quota below 1ms", testInput(res(&runtimeapi.LinuxContainerResources{CpuQuota: 10, CpuPeriod: 100000}), nil), "config.linux.resources.cpu_quota"},
		{"cpu period too long", testInput(res(&runtimeapi.LinuxContainerResources{CpuQuota: 5000, CpuPeriod: 10000000}), nil), "config.linux.resources.cpu_period"},
		{"negative memory", testInput(res(&runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}), nil), "config.linux.resources.memory_limit_in_bytes"},
		{"no command anywhere", testInput(&runtimeapi.ContainerConfig{}, func(in *specInput) { in.Image.Cmd = nil }), "config.command"},
		{"relative working dir", testInput(&runtimeapi.ContainerConfig{WorkingDir: "app", Command: []string{"x"}}, nil), "config.working_dir"},
		{"relative mount", testInput(&runtimeapi.ContainerConfig{Mounts: []*runtimeapi.Mount{{ContainerPath: "data", HostPath: "/d"}}}, nil), "config.mounts[0].container_path"},
		{"recursive read-only mount with propagation", testInput(&runtimeapi.ContainerConfig{Mounts: []*runtimeapi.Mount{
			{ContainerPath: "/data", HostPath: "/d", Readonly: true, RecursiveReadOnly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		}}, nil), "config.mounts[0].recursive_read_only"},
		{"privileged in unprivileged pod", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}},
		}, nil), "config.linux.security_context.privileged"},
		{"pod pid without a shared namespace", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD},
			}},
		}, func(in *specInput) { in.Sandbox.PIDNS = "" }), "config.linux.security_context.namespace_options.pid"},
		{"pod user namespace without one", testInput(&runtimeapi.ContainerConfig{
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}},
			}},
		}, nil), "config.linux.security_context.namespace_options.userns_options.mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildSpec(tc.in)
			var inv *invalidArgumentError
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Fatalf("error %v, want an invalid argument naming %s", err, tc.field)
			}
			if code := grpcCode(err); code != "InvalidArgument" {
				t.Errorf("gRPC code %s", code)
			}
		})
	}
}
