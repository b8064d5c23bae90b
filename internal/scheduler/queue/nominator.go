package queue

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// nominator remembers the pods preemption nominated to nodes: pods of
// lower or equal priority must leave them room. It has its own lock:
// every scheduling cycle reads it.
type nominator struct {
	mu     sync.Mutex
	byNode map[string][]*framework.PodInfo
	byUID  map[types.UID]string
}

func newNominator() nominator {
	return nominator{byNode: map[string][]*framework.PodInfo{}, byUID: map[types.UID]string{}}
}

func (n *nominator) add(pi *framework.PodInfo, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pi.Pod.UID)
	n.addLocked(pi, node)
}

func (n *nominator) addLocked(pi *framework.PodInfo, node string) {
	n.byUID[pi.Pod.UID] = node
	n.byNode[node] = append(n.byNode[node], pi)
}

func (n *nominator) delete(uid types.UID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(uid)
}

func (n *nominator) deleteLocked(uid types.UID) {
	node, ok := n.byUID[uid]
	if !ok {
		return
	}
	delete(n.byUID, uid)
	pods := n.byNode[node]
	for i, p := range pods {
		if p.Pod.UID == uid {
			pods = append(pods[:i], pods[i+1:]...)
			break
		}
	}
	if len(pods) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = pods
	}
}

// update follows a pod's status.nominatedNodeName; a pod nominated by
// this scheduler keeps its nomination until the API shows another.
func (n *nominator) update(old, pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	node := pod.Status.NominatedNodeName
	if node == "" {
		if old == nil || old.Status.NominatedNodeName == "" {
			// Nothing in the API yet: keep an in-memory nomination.
			if cur, ok := n.byUID[pod.UID]; ok {
				n.deleteLocked(pod.UID)
				n.addLocked(framework.NewPodInfo(pod), cur)
			}
			return
		}
		n.deleteLocked(pod.UID)
		return
	}
	n.deleteLocked(pod.UID)
	n.addLocked(framework.NewPodInfo(pod), node)
}

func (n *nominator) all() map[string][]*framework.PodInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.byNode) == 0 {
		return nil
	}
	out := make(map[string][]*framework.PodInfo, len(n.byNode))
	for node, pods := range n.byNode {
		out[node] = append([]*framework.PodInfo(nil), pods...)
	}
	return out
}
