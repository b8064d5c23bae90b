package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"

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

// deadContainers are the exited containers to remove when the node
// reclaims disk: all but the newest of each name in each pod (whose
// status and logs the pod's lastState shows). It does no I/O.
func deadContainers(ctrs []*runtimeapi.Container) []string {
	sorted := append([]*runtimeapi.Container(nil), ctrs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].CreatedAt > sorted[j].CreatedAt })
	seen := map[[2]string]bool{}
	var out []string
	for _, c := range sorted {
		key := [2]string{c.GetLabels()[labelPodUID], c.GetMetadata().GetName()}
		newest := !seen[key]
		seen[key] = true
		if !newest && c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			out = append(out, c.Id)
		}
	}
	return out
}

// removeDeadContainers removes what deadContainers picks of the node's
// containers and returns how many it removed.
func (k *Kubelet) removeDeadContainers(ctx context.Context) (int, error) {
	list, err := k.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	n := 0
	var errs []error
	for _, id := range deadContainers(list.Containers) {
		if _, err := k.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
