// Package scheduler is kemudi's kube-scheduler: it watches pods that have
// no node yet and picks the node each one runs on, weighing resource
// requests, node selectors and affinity, taints, inter-pod affinity and
// anti-affinity, topology spread, volume locality and image locality, and
// preempting lower-priority pods for pods that fit nowhere.
//
// It is an API client like every component: informers feed its cache
// (framework.Cache: every node with its pods, updated incrementally) and
// its queue (queue.Queue: pending pods by priority, with backoff and an
// unschedulable pool woken by the cluster changes that can help). One
// goroutine runs the scheduling cycles (schedule_one.go): pop a pod,
// refresh the snapshot, run the plugins (framework.Framework: filters in
// parallel until enough nodes fit, then scores), assume the pod on the
// chosen node, let the Reserve plugins claim what it needs there (the
// volumes VolumeBinding will bind), and bind asynchronously: the PreBind
// plugins first (VolumeBinding writes and waits for the volume
// bindings of WaitForFirstConsumer claims), then the Binding. A failure
// after Reserve undoes it and requeues the pod. The binding is its
// only write to a pod's placement, and the API refuses a second one, so
// no pod is bound twice, even across restarts and leader changes.
//
// Layout:
//
//	framework/  NodeInfo, Snapshot, Cache, plugin interfaces, the cycle
//	plugins/    one package per filter or score plugin, upstream's names
//	queue/      the scheduling queue
//	preemption/ victims, candidate choice and eviction
package scheduler
