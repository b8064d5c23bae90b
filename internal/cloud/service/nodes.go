package service

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// syncNodes updates every load balancer's hosts when the node set
// changed: upstream's node sync. A load balancer that fails to update,
// and a service still waiting for an address (no node could serve it
// before), gets a full sync.
func (s *Controller) syncNodes(ctx context.Context) {
	all, err := s.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	fp := nodeFingerprint(all)
	s.mu.Lock()
	same := fp == s.fingerprint
	s.fingerprint = fp
	s.mu.Unlock()
	if same {
		return
	}
	nodes := s.lbNodes()
	svcs, err := s.services.List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if !wantsLoadBalancer(svc) || needsCleanup(svc) {
			continue
		}
		key, _ := cache.MetaNamespaceKeyFunc(svc)
		if !hasFinalizer(svc) || len(svc.Status.LoadBalancer.Ingress) == 0 {
			s.loop.Queue.Add(key)
			continue
		}
		if err := s.updateHosts(ctx, svc, nodes); err != nil {
			s.log.Warn("update load balancer hosts", "service", key, "err", err)
			s.recorder.Eventf(svc, corev1.EventTypeWarning, "UpdateLoadBalancerFailed", "Error updating load balancer with new hosts %v, error: %v", nodeNames(nodes), err)
			s.loop.Queue.AddRateLimited(key)
		}
	}
}

// updateHosts updates one load balancer's hosts, and its status when
// the provider's addresses follow the nodes (the local provider's node
// addresses).
func (s *Controller) updateHosts(ctx context.Context, svc *corev1.Service, nodes []*corev1.Node) error {
	if err := s.balancer.UpdateLoadBalancer(ctx, s.clusterName, svc, nodes); err != nil {
		return err
	}
	s.recorder.Event(svc, corev1.EventTypeNormal, "UpdatedLoadBalancer", "Updated load balancer with new hosts")
	status, exists, err := s.balancer.GetLoadBalancer(ctx, s.clusterName, svc)
	if err != nil || !exists || status == nil {
		return err
	}
	return s.patchStatus(ctx, svc, status)
}

func nodeNames(nodes []*corev1.Node) []string {
	const most = 20 // upstream limits the event's list too
	var names []string
	for i, n := range nodes {
		if i == most {
			names = append(names, "...")
			break
		}
		names = append(names, n.Name)
	}
	return names
}
