package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// health is what the controller remembers of a node between passes: when
// it last heard from it (a new Lease renewal or a new Ready heartbeat) and
// what it saw then.
type health struct {
	probe     time.Time
	ready     *corev1.NodeCondition
	leaseTime time.Time
}

// observe updates what is known of a node from its current status and
// Lease, returning the updated record. A node is heard from when its Ready
// heartbeat or its Lease renew time moved.
func observe(h *health, node *corev1.Node, lease *coordinationv1.Lease, now time.Time) *health {
	ready := condition(node.Status.Conditions, corev1.NodeReady)
	next := &health{}
	if h != nil {
		*next = *h
	}
	switch {
	case h == nil:
		next.probe = now
		if ready == nil {
			// Never posted: count from its creation, as upstream.
			next.probe = node.CreationTimestamp.Time
		}
	case h.ready == nil && ready != nil,
		h.ready != nil && ready == nil,
		h.ready != nil && ready != nil && !h.ready.LastHeartbeatTime.Equal(&ready.LastHeartbeatTime):
		next.probe = now
	}
	if ready != nil {
		c := *ready
		next.ready = &c
	} else {
		next.ready = nil
	}
	// A Lease renewed since the last look (or seen for the first time)
	// is news from the node.
	if lease != nil && lease.Spec.RenewTime != nil && (next.leaseTime.IsZero() || lease.Spec.RenewTime.Time.After(next.leaseTime)) {
		next.probe = now
		next.leaseTime = lease.Spec.RenewTime.Time
	}
	return next
}

// monitoredConditions are set Unknown when a node goes silent; the network
// condition belongs to the control plane and is left alone.
var monitoredConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// markUnknown sets a silent node's conditions Unknown as upstream does
// (NodeStatusUnknown for those the kubelet posted, NodeStatusNeverUpdated
// for those it never did) and reports whether the Ready condition changed.
func markUnknown(node *corev1.Node, now metav1.Time) bool {
	before := condition(node.Status.Conditions, corev1.NodeReady)
	var was corev1.NodeCondition
	if before != nil {
		was = *before
	}
	for _, typ := range monitoredConditions {
		c := condition(node.Status.Conditions, typ)
		if c == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type:               typ,
				Status:             corev1.ConditionUnknown,
				Reason:             "NodeStatusNeverUpdated",
				Message:            "Kubelet never posted node status.",
				LastHeartbeatTime:  node.CreationTimestamp,
				LastTransitionTime: now,
			})
			continue
		}
		if c.Status != corev1.ConditionUnknown {
			c.Status = corev1.ConditionUnknown
			c.Reason = "NodeStatusUnknown"
			c.Message = "Kubelet stopped posting node status."
			c.LastTransitionTime = now
		}
	}
	after := condition(node.Status.Conditions, corev1.NodeReady)
	return before == nil || was.Status != after.Status || was.Reason != after.Reason
}

func condition(conds []corev1.NodeCondition, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// zoneState is a zone's health as upstream computes it.
type zoneState string

const (
	zoneNormal            zoneState = "Normal"
	zonePartialDisruption zoneState = "PartialDisruption"
	zoneFullDisruption    zoneState = "FullDisruption"
)

// unhealthyZoneThreshold is the share of not-ready nodes (of more than
// two) that puts a zone in partial disruption (--unhealthy-zone-threshold).
const unhealthyZoneThreshold = 0.55

// computeZoneState: full disruption when no node is ready, partial when
// more than two and at least the threshold are not, normal otherwise.
func computeZoneState(ready []corev1.ConditionStatus) zoneState {
	var up, down int
	for _, s := range ready {
		if s == corev1.ConditionTrue {
			up++
		} else {
			down++
		}
	}
	switch {
	case up == 0 && down > 0:
		return zoneFullDisruption
	case down > 2 && float64(down)/float64(up+down) >= unhealthyZoneThreshold:
		return zonePartialDisruption
	}
	return zoneNormal
}

// Eviction rates of the NoExecute tainting, per zone (upstream's
// --node-eviction-rate, --secondary-node-eviction-rate and
// --large-cluster-size-threshold).
const (
	evictionQPS           = 0.1
	secondaryEvictionQPS  = 0.01
	largeClusterThreshold = 50
)

// zoneTaintQPS is how fast nodes of a zone may get NoExecute taints.
func zoneTaintQPS(state zoneState, size int) float32 {
	if state == zonePartialDisruption {
		if size > largeClusterThreshold {
			return secondaryEvictionQPS
		}
		return 0
	}
	return evictionQPS
}
