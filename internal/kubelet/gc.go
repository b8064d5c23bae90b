package kubelet

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// keepPerContainer is how many containers of one name a pod keeps: the
// current one and the one before it (its lastState and logs), as
// upstream's default --maximum-dead-containers-per-container 1.
const keepPerContainer = 2

// garbage lists the exited containers beyond the newest two of each name
// (state sorted newest first); removing them loses nothing the status shows.
func garbage(state PodState) []string {
	seen := map[string]int{}
	var out []string
	for _, c := range state.Containers {
		name := c.GetMetadata().GetName()
		seen[name]++
		if seen[name] > keepPerContainer && c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			out = append(out, c.Id)
		}
	}
	return out
}

// collectGarbage removes a pod's old exited containers.
func (k *Kubelet) collectGarbage(ctx context.Context, state PodState) {
	for _, id := range garbage(state) {
		if _, err := k.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil && ctx.Err() == nil {
			k.log.Warn("remove dead container", "id", id, "err", err)
		}
	}
}
