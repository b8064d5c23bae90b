package kubelet

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podState asks the runtime for everything of one pod.
func (k *Kubelet) podState(ctx context.Context, uid types.UID) (PodState, error) {
	st := PodState{SandboxOf: map[string]string{}}
	sel := map[string]string{labelPodUID: string(uid)}
	sbs, err := k.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: sel}})
	if err != nil {
		return st, fmt.Errorf("list sandboxes: %w", err)
	}
	for _, sb := range sbs.Items {
		s, err := k.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id})
		if err != nil {
			continue // removed meanwhile
		}
		st.Sandboxes = append(st.Sandboxes, s.Status)
	}
	cs, err := k.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: sel}})
	if err != nil {
		return st, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Containers {
		s, err := k.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil {
			continue
		}
		st.Containers = append(st.Containers, s.Status)
		st.SandboxOf[c.Id] = c.PodSandboxId
	}
	st.sortNewestFirst()
	return st, nil
}
