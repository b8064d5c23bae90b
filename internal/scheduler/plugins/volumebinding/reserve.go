package volumebinding

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// reservation is what Reserve assumed for a pod on its node: the
// volumes bound to its claims and the claims given the node, as they
// will be written to the API.
type reservation struct {
	node   string
	static []boundClaim
	// provision are the claims with the selected-node annotation.
	provision []*corev1.PersistentVolumeClaim
	// assumed are the volumes Reserve laid over the lister's (a volume
	// already bound to the claim is not).
	assumed []*corev1.PersistentVolume
}

// Reserve assumes the bindings Filter found on node, so that the next
// pods' cycles see those volumes taken and those claims headed for
// node.
func (pl *Plugin) Reserve(_ context.Context, state *framework.CycleState, _ *framework.PodInfo, node string) *framework.Status {
	s, _ := state.Read(stateKey).(*stateData)
	if s == nil || len(s.claims.delayed) == 0 {
		return nil
	}
	s.mu.Lock()
	found := s.byNode[node]
	s.mu.Unlock()
	if found == nil {
		return nil
	}
	r := &reservation{node: node}
	for _, b := range found.static {
		pv, dirty, err := volumehelpers.GetBindVolumeToClaim(b.pv, b.claim)
		if err == nil && dirty {
			if err = pl.assumed.assumeVolume(pv); err == nil {
				r.assumed = append(r.assumed, pv)
			}
		}
		if err != nil {
			pl.assumed.forget(r.assumed, nil)
			return framework.AsStatus(err)
		}
		r.static = append(r.static, boundClaim{b.claim, pv})
	}
	for _, c := range found.provision {
		pvc := c.DeepCopy()
		metav1.SetMetaDataAnnotation(&pvc.ObjectMeta, volumehelpers.AnnSelectedNode, node)
		if err := pl.assumed.assumeClaim(pvc); err != nil {
			pl.assumed.forget(r.assumed, r.provision)
			return framework.AsStatus(err)
		}
		r.provision = append(r.provision, pvc)
	}
	s.reserved = r
	return nil
}

// Unreserve forgets what Reserve assumed.
func (pl *Plugin) Unreserve(_ context.Context, state *framework.CycleState, _ *framework.PodInfo, _ string) {
	s, _ := state.Read(stateKey).(*stateData)
	if s == nil || s.reserved == nil {
		return
	}
	pl.assumed.forget(s.reserved.assumed, s.reserved.provision)
	s.reserved = nil
}

// PreBind writes the reserved bindings, as upstream's binder: a
// volume gets the claim in spec.claimRef, a claim to provision gets
// the selected-node annotation. Then it waits until the volume
// controller (and the provisioner) bound every claim, and fails when
// they went another way: the pod is then retried.
func (pl *Plugin) PreBind(ctx context.Context, state *framework.CycleState, pod *framework.PodInfo, node string) *framework.Status {
	s, _ := state.Read(stateKey).(*stateData)
	if s == nil || s.reserved == nil {
		return nil
	}
	r := s.reserved
	if r.node != node {
		return framework.AsStatus(fmt.Errorf("no pod volume found for node %q", node))
	}
	if pl.binding.Client == nil {
		return framework.AsStatus(fmt.Errorf("volume binding has no API client"))
	}
	written, err := pl.write(ctx, r)
	if err != nil {
		return framework.AsStatus(err)
	}
	if err := pl.waitBound(ctx, pod.Pod, node, written); err != nil {
		return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
	}
	// The informers have the bound objects now, newer than any assumed.
	pl.assumed.forget(r.assumed, r.provision)
	s.reserved = nil
	return nil
}

// write updates the volumes, then the claims, and returns them as the
// API answered.
func (pl *Plugin) write(ctx context.Context, r *reservation) (*reservation, error) {
	c := pl.binding.Client.CoreV1()
	out := &reservation{node: r.node}
	for _, b := range r.static {
		pv, err := c.PersistentVolumes().Update(ctx, b.pv, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("bind volume %q to claim %q: %w", b.pv.Name, b.claim.Namespace+"/"+b.claim.Name, err)
		}
		out.static = append(out.static, boundClaim{b.claim, pv})
	}
	for _, pvc := range r.provision {
		updated, err := c.PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("select node %q for claim %q: %w", r.node, pvc.Namespace+"/"+pvc.Name, err)
		}
		out.provision = append(out.provision, updated)
	}
	return out, nil
}

// waitBound waits, on the listers' changes, until every claim of r is
// bound, one check fails, or the bind timeout passes.
func (pl *Plugin) waitBound(ctx context.Context, pod *corev1.Pod, node string, r *reservation) error {
	ctx, cancel := context.WithTimeout(ctx, pl.binding.Timeout)
	defer cancel()
	for {
		changed := pl.changes.wait()
		done, err := pl.checkBound(pod, node, r)
		if err != nil || done {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
