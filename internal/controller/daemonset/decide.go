package daemonset

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/kemudi/kemudi/internal/controller"
)

// templateGenerationLabel is the label of pods made by the extensions/v1beta1
// DaemonSets of old, still honoured for updates.
const templateGenerationLabel = "pod-template-generation"

// daemonTolerations are the tolerations every daemon pod gets, so that
// it runs on nodes other pods avoid (upstream's list).
func daemonTolerations(spec *corev1.PodSpec) {
	add := func(key string, effect corev1.TaintEffect) {
		t := corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
		for i := range spec.Tolerations {
			if t.MatchToleration(&spec.Tolerations[i]) {
				spec.Tolerations[i] = t
				return
			}
		}
		spec.Tolerations = append(spec.Tolerations, t)
	}
	add(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	if spec.HostNetwork {
		add(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)
	}
}

// placement decides which nodes a DaemonSet's pods belong on.
type placement struct {
	ds          *appsv1.DaemonSet
	tolerations []corev1.Toleration
	affinity    nodeaffinity.RequiredNodeAffinity
}

func newPlacement(ds *appsv1.DaemonSet) *placement {
	spec := ds.Spec.Template.Spec.DeepCopy()
	daemonTolerations(spec)
	return &placement{
		ds:          ds,
		tolerations: spec.Tolerations,
		affinity:    nodeaffinity.NewRequiredNodeAffinity(ds.Spec.Template.Spec.NodeSelector, ds.Spec.Template.Spec.Affinity),
	}
}

// shouldRun says whether a daemon pod should be created on the node, and
// whether one already there may keep running (it may, on a node whose
// new NoSchedule taint it does not tolerate).
func (pl *placement) shouldRun(node *corev1.Node) (run, keep bool) {
	if n := pl.ds.Spec.Template.Spec.NodeName; n != "" && n != node.Name {
		return false, false
	}
	if ok, _ := pl.affinity.Match(node); !ok {
		return false, false
	}
	logger := klog.Background()
	_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, pl.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule
	}, false)
	if !untolerated {
		return true, true
	}
	_, noExecute := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, pl.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}, false)
	return false, !noExecute
}

// templateGeneration reads the deprecated template generation annotation.
func templateGeneration(ds *appsv1.DaemonSet) *int64 {
	v, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return nil
	}
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &g
}

// isUpdated says whether a pod is of the current template.
func isUpdated(p *corev1.Pod, hash string, generation *int64) bool {
	if hash != "" && p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
		return true
	}
	return generation != nil && p.Labels[templateGenerationLabel] == fmt.Sprint(*generation)
}

// podTemplate is the template of new daemon pods: the DaemonSet's, with
// the daemon tolerations and the revision hash label.
func podTemplate(ds *appsv1.DaemonSet, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	daemonTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if g := templateGeneration(ds); g != nil {
		t.Labels[templateGenerationLabel] = fmt.Sprint(*g)
	}
	if hash != "" {
		t.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	}
	return t
}

// pinToNode makes the pod require its node by name, in place of any
// required node affinity of the template: the scheduler then binds it
// there (upstream's way, so that the scheduler accounts for it).
func pinToNode(a *corev1.Affinity, node string) *corev1.Affinity {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}
	if a == nil {
		a = &corev1.Affinity{}
	}
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return a
}

// targetNode is the node a daemon pod is on or pinned to.
func targetNode(p *corev1.Pod) (string, bool) {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName, true
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", false
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn {
				if len(f.Values) != 1 {
					return "", false
				}
				return f.Values[0], true
			}
		}
	}
	return "", false
}

// byAge orders a node's daemon pods: scheduled first, then oldest, then
// by name.
func byAge(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

// surgeCount and unavailableCount scale maxSurge and maxUnavailable to
// the number of nodes (rounding up).
func surgeCount(ds *appsv1.DaemonSet, n int) (int, error) {
	r := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || r == nil || r.MaxSurge == nil {
		return 0, nil
	}
	return intstrutil.GetScaledValueFromIntOrPercent(r.MaxSurge, n, true)
}

func unavailableCount(ds *appsv1.DaemonSet, n int) (int, error) {
	r := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || r == nil {
		return 0, nil
	}
	return intstrutil.GetScaledValueFromIntOrPercent(r.MaxUnavailable, n, true)
}

func allowsSurge(ds *appsv1.DaemonSet) bool {
	n, err := surgeCount(ds, 1)
	return err == nil && n > 0
}

// nodeActions is what one sync does: nodes to create a pod on, pods to
// delete, and the events to record.
type nodeActions struct {
	create []string
	delete []string
	// failed are failed pods deleted (a warning each); succeeded, the
	// succeeded ones.
	failed, succeeded []*corev1.Pod
	// backoff lists nodes whose failed pod waits out its backoff.
	backoff []string
}

// podsOnNode decides, for one node, whether a pod must be created there
// and which of its daemon pods must go: pods on nodes they do not belong
// on, finished pods, extra pods (the oldest stays; with surge, the old
// pod goes once the new one is available). inBackoff says whether the
// failed pod of a node must wait before it is replaced.
func podsOnNode(pl *placement, node *corev1.Node, pods []*corev1.Pod, hash string, now time.Time, inBackoff func(node string) bool, a *nodeActions) {
	run, keep := pl.shouldRun(node)
	ds := pl.ds
	switch {
	case run && len(pods) == 0:
		a.create = append(a.create, node.Name)
	case keep:
		var running []*corev1.Pod
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodFailed:
				if inBackoff(node.Name) {
					a.backoff = append(a.backoff, node.Name)
					continue
				}
				a.failed = append(a.failed, p)
				a.delete = append(a.delete, p.Name)
			case corev1.PodSucceeded:
				a.succeeded = append(a.succeeded, p)
				a.delete = append(a.delete, p.Name)
			default:
				running = append(running, p)
			}
		}
		if !allowsSurge(ds) {
			if len(running) > 1 {
				byAge(running)
				for _, p := range running[1:] {
					a.delete = append(a.delete, p.Name)
				}
			}
			return
		}
		if len(running) <= 1 {
			if len(running) == 0 && run {
				a.create = append(a.create, node.Name)
			}
			return
		}
		// With surge, keep the oldest new pod and the oldest old pod
		// until the new one is available.
		byAge(running)
		var oldestNew, oldestOld *corev1.Pod
		for _, p := range running {
			if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
				if oldestNew == nil {
					oldestNew = p
					continue
				}
			} else if oldestOld == nil {
				oldestOld = p
				continue
			}
			a.delete = append(a.delete, p.Name)
		}
		if oldestNew != nil && oldestOld != nil &&
			(!controller.IsPodReady(oldestOld) || controller.IsPodAvailable(oldestNew, ds.Spec.MinReadySeconds, now)) {
			a.delete = append(a.delete, oldestOld.Name)
		}
	case len(pods) > 0:
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				a.delete = append(a.delete, p.Name)
			}
		}
	}
}

// unscheduledWithoutNode are the pods pinned to nodes that no longer
// exist and not yet bound: they would never run.
func unscheduledWithoutNode(nodes []*corev1.Node, byNode map[string][]*corev1.Pod) []string {
	exists := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		exists[n.Name] = true
	}
	var out []string
	for name, pods := range byNode {
		if exists[name] {
			continue
		}
		for _, p := range pods {
			if p.Spec.NodeName == "" {
				out = append(out, p.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// updatedPodsOnNode splits a node's live pods into the one of the current
// template and the one of an older; ok is false when there are more than
// one of either (the node is being fixed by the main loop).
func updatedPodsOnNode(ds *appsv1.DaemonSet, pods []*corev1.Pod, hash string) (newPod, oldPod *corev1.Pod, ok bool) {
	gen := templateGeneration(ds)
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if isUpdated(p, hash, gen) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// rollout is the decision of one rolling update step.
type rollout struct {
	delete []string
	create []string
}

// rollingUpdate decides which old pods to delete and where to surge new
// ones, within maxUnavailable and maxSurge (upstream's algorithm).
// byNode must hold an entry (maybe empty) for every node that should run
// a pod; nodes maps names to nodes.
func rollingUpdate(pl *placement, nodes map[string]*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) (rollout, error) {
	ds := pl.ds
	desired := 0
	for _, n := range nodes {
		if run, _ := pl.shouldRun(n); run {
			desired++
			if _, ok := byNode[n.Name]; !ok {
				byNode[n.Name] = nil
			}
		}
	}
	maxUnavailable, err := unavailableCount(ds, desired)
	if err != nil {
		return rollout{}, fmt.Errorf("invalid value for MaxUnavailable: %w", err)
	}
	maxSurge, err := surgeCount(ds, desired)
	if err != nil {
		return rollout{}, fmt.Errorf("invalid value for MaxSurge: %w", err)
	}
	if desired > 0 && maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	available := func(p *corev1.Pod) bool { return controller.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) }
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	sort.Strings(names)

	if maxSurge == 0 {
		unavailable := 0
		var allowed, candidates []string
		for _, name := range names {
			newPod, oldPod, ok := updatedPodsOnNode(ds, byNode[name], hash)
			if !ok {
				unavailable++
				continue
			}
			switch {
			case oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				unavailable++
			case newPod != nil:
				if !available(newPod) {
					unavailable++
				}
			default:
				switch {
				case !available(oldPod):
					// Replacing an unavailable pod costs nothing.
					allowed = append(allowed, oldPod.Name)
					unavailable++
				case unavailable >= maxUnavailable:
				default:
					candidates = append(candidates, oldPod.Name)
				}
			}
		}
		n := min(max(maxUnavailable-unavailable, 0), len(candidates))
		return rollout{delete: append(allowed, candidates[:n]...)}, nil
	}

	var toDelete, shouldNotRun, candidateNodes, allowedNodes []string
	surge, numAvailable := 0, 0
	for _, name := range names {
		newPod, oldPod, ok := updatedPodsOnNode(ds, byNode[name], hash)
		if !ok {
			surge++
			continue
		}
		if oldPod != nil {
			if available(oldPod) {
				numAvailable++
			}
		} else if newPod != nil && available(newPod) {
			numAvailable++
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			node := nodes[name]
			run := false
			if node != nil {
				run, _ = pl.shouldRun(node)
			}
			switch {
			case !available(oldPod):
				if !run {
					toDelete = append(toDelete, oldPod.Name)
					continue
				}
				allowedNodes = append(allowedNodes, name)
			default:
				if !run {
					shouldNotRun = append(shouldNotRun, oldPod.Name)
					continue
				}
				if surge >= maxSurge {
					continue
				}
				candidateNodes = append(candidateNodes, name)
			}
		default:
			if !available(newPod) {
				surge++
				continue
			}
			toDelete = append(toDelete, oldPod.Name)
		}
	}
	if n := numAvailable - desired; n > 0 {
		toDelete = append(toDelete, shouldNotRun[:min(n, len(shouldNotRun))]...)
	}
	n := min(max(maxSurge-surge, 0), len(candidateNodes))
	return rollout{delete: toDelete, create: append(allowedNodes, candidateNodes[:n]...)}, nil
}

// counts is the DaemonSet status computed from nodes and pods.
type counts struct {
	desired, current, misscheduled, ready, updated, available int32
}

func statusCounts(pl *placement, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) counts {
	var c counts
	gen := templateGeneration(pl.ds)
	for _, n := range nodes {
		run, _ := pl.shouldRun(n)
		pods := byNode[n.Name]
		if !run {
			if len(pods) > 0 {
				c.misscheduled++
			}
			continue
		}
		c.desired++
		if len(pods) == 0 {
			continue
		}
		c.current++
		sorted := append([]*corev1.Pod(nil), pods...)
		byAge(sorted)
		p := sorted[0]
		if controller.IsPodReady(p) {
			c.ready++
			if controller.IsPodAvailable(p, pl.ds.Spec.MinReadySeconds, now) {
				c.available++
			}
		}
		if isUpdated(p, hash, gen) {
			c.updated++
		}
	}
	return c
}
