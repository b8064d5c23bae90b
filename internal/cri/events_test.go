package cri

import (
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A container's event carries its pod's status and the statuses of that
// pod's containers only (another pod's container is created first, while
// no stream listens).
func TestContainerEventStatuses(t *testing.T) {
	f := newBuildFixture(t)
	ctx := f.ctx
	run := func(name string) (string, *runtimeapi.PodSandboxConfig) {
		cfg := &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Uid: name + "-uid", Namespace: "test"},
			Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			}},
		}
		sb, err := f.r.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
		if err != nil {
			t.Fatalf("RunPodSandbox %s: %v", name, err)
		}
		return sb.GetPodSandboxId(), cfg
	}
	create := func(sb string, cfg *runtimeapi.PodSandboxConfig, name string) string {
		c, err := f.r.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
			PodSandboxId: sb, SandboxConfig: cfg,
			Config: &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: name},
				Image:    &runtimeapi.ImageSpec{Image: "busybox:latest"},
				Command:  []string{"sleep", "1000"},
			},
		})
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", name, err)
		}
		return c.GetContainerId()
	}
	other, otherCfg := run("other")
	create(other, otherCfg, "unseen") // before any subscriber: no event built
	sb, cfg := run("pod")
	first := create(sb, cfg, "first")

	events, cancel := f.r.events.subscribe()
	defer cancel()
	second := create(sb, cfg, "second")
	select {
	case ev := <-events:
		if ev.GetContainerId() != second || ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT {
			t.Fatalf("event %v for %s, want CREATED for %s", ev.GetContainerEventType(), ev.GetContainerId(), second)
		}
		if ev.GetPodSandboxStatus().GetId() != sb {
			t.Errorf("event's pod %q, want %s", ev.GetPodSandboxStatus().GetId(), sb)
		}
		var ids []string
		for _, st := range ev.GetContainersStatuses() {
			ids = append(ids, st.GetId())
		}
		if len(ids) != 2 || !(ids[0] == first && ids[1] == second || ids[0] == second && ids[1] == first) {
			t.Errorf("event's containers %v, want the pod's %s and %s", ids, first, second)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event for the created container")
	}
}
