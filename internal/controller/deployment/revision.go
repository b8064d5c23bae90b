package deployment

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The annotations upstream's controller keeps on Deployments and their
// ReplicaSets.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	// rollbackToAnnotation is the deprecated extensions/v1beta1 rollback
	// request, still honoured.
	rollbackToAnnotation = appsv1.DeprecatedRollbackTo

	// maxRevisionHistoryChars bounds revision-history (about 100 entries).
	maxRevisionHistoryChars = 2000
)

// annotationsNotCopied are the Deployment annotations a ReplicaSet does
// not inherit.
var annotationsNotCopied = map[string]bool{
	corev1.LastAppliedConfigAnnotation: true,
	RevisionAnnotation:                 true,
	RevisionHistoryAnnotation:          true,
	DesiredReplicasAnnotation:          true,
	MaxReplicasAnnotation:              true,
	rollbackToAnnotation:               true,
}

// revision is an object's revision annotation (0 when absent).
func revision(m metav1.Object) (int64, error) {
	v, ok := m.GetAnnotations()[RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// maxRevision is the highest revision among sets (unparseable ones skipped).
func maxRevision(sets []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range sets {
		if v, err := revision(rs); err == nil && v > m {
			m = v
		}
	}
	return m
}

// lastRevision is the second highest revision: the one before the
// current (what a rollback without a revision goes to).
func lastRevision(sets []*appsv1.ReplicaSet) int64 {
	var first, second int64
	for _, rs := range sets {
		v, err := revision(rs)
		if err != nil {
			continue
		}
		if v >= first {
			second, first = first, v
		} else if v > second {
			second = v
		}
	}
	return second
}

// setNewReplicaSetAnnotations brings the new set's annotations up to
// date: the Deployment's own annotations, the revision (only ever raised;
// a set that had an older revision is a template coming back, and that
// older revision joins revision-history), and for a set about to be
// created the replicas annotations. It reports whether anything changed.
func setNewReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool) bool {
	changed := copyDeploymentAnnotations(d, rs)
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	oldRevision, had := rs.Annotations[RevisionAnnotation]
	oldN, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return false
		}
		oldN = 0
	}
	newN, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldN < newN {
		rs.Annotations[RevisionAnnotation] = newRevision
		changed = true
		if had {
			rs.Annotations[RevisionHistoryAnnotation] = appendRevisionHistory(rs.Annotations[RevisionHistoryAnnotation], oldRevision)
		}
	}
	if !exists && setReplicasAnnotations(rs, *d.Spec.Replicas, *d.Spec.Replicas+maxSurge(d)) {
		changed = true
	}
	return changed
}

// appendRevisionHistory appends rev to a comma-separated history, dropping
// the oldest entries to stay within maxRevisionHistoryChars.
func appendRevisionHistory(history, rev string) string {
	if history == "" {
		return rev
	}
	old := strings.Split(history, ",")
	total := len(history) + len(rev) + 1
	start := 0
	for total > maxRevisionHistoryChars && start < len(old) {
		total -= len(old[start]) + 1
		start++
	}
	if total > maxRevisionHistoryChars {
		return history
	}
	return strings.Join(append(old[start:], rev), ",")
}

// copyDeploymentAnnotations copies the Deployment's annotations (but
// those in annotationsNotCopied) to the set; it reports a change.
func copyDeploymentAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if annotationsNotCopied[k] {
			continue
		}
		if cur, ok := rs.Annotations[k]; ok && cur == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	return changed
}

// setDeploymentAnnotationsTo gives the Deployment the annotations of the
// set it rolls back to (keeping its own not-copied ones).
func setDeploymentAnnotationsTo(d *appsv1.Deployment, rs *appsv1.ReplicaSet) {
	kept := map[string]string{}
	for k, v := range d.Annotations {
		if annotationsNotCopied[k] {
			kept[k] = v
		}
	}
	for k, v := range rs.Annotations {
		if !annotationsNotCopied[k] {
			kept[k] = v
		}
	}
	d.Annotations = kept
}

// setReplicasAnnotations records desired and max replicas on a set; it
// reports a change.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range map[string]string{DesiredReplicasAnnotation: fmt.Sprint(desired), MaxReplicasAnnotation: fmt.Sprint(maxReplicas)} {
		if rs.Annotations[k] != v {
			rs.Annotations[k] = v
			changed = true
		}
	}
	return changed
}

func replicasAnnotationsNeedUpdate(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	return rs.Annotations[DesiredReplicasAnnotation] != fmt.Sprint(desired) ||
		rs.Annotations[MaxReplicasAnnotation] != fmt.Sprint(maxReplicas)
}

// nonNegativeInt32Annotation reads a replicas annotation.
func nonNegativeInt32Annotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// equalIgnoreHash compares two templates but for the pod-template-hash
// label (a Deployment's template never has it; its sets' always do).
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	// Shallow copies with the label maps replaced: the specs are compared
	// in place, never copied (this runs for every set on every sync).
	ca, cb := *a, *b
	ca.Labels = withoutLabel(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	cb.Labels = withoutLabel(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return apiequality.Semantic.DeepEqual(&ca, &cb)
}

// findNewReplicaSet is the set whose template is the Deployment's (the
// oldest, should there be several); nil when there is none yet.
func findNewReplicaSet(d *appsv1.Deployment, sets []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), sets...)
	sort.Sort(byCreation(sorted))
	for _, rs := range sorted {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// oldReplicaSets splits the sets that are not the new one into those
// with replicas and all of them.
func oldReplicaSets(d *appsv1.Deployment, sets []*appsv1.ReplicaSet) (withReplicas, all []*appsv1.ReplicaSet) {
	newRS := findNewReplicaSet(d, sets)
	for _, rs := range sets {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		all = append(all, rs)
		if *rs.Spec.Replicas != 0 {
			withReplicas = append(withReplicas, rs)
		}
	}
	return withReplicas, all
}

// replicaSetName is <deployment>-<hash>, the Deployment's name cut so
// that the whole is a valid name.
func replicaSetName(deployment, hash string) string {
	maxLen := validation.DNS1123SubdomainMaxLength - 1 - len(hash)
	if len(deployment) > maxLen && maxLen > 0 {
		deployment = deployment[:maxLen]
	}
	return deployment + "-" + hash
}

// byCreation orders sets oldest first, then by name.
type byCreation []*appsv1.ReplicaSet

func (o byCreation) Len() int      { return len(o) }
func (o byCreation) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o byCreation) Less(i, j int) bool {
	if o[i].CreationTimestamp.Equal(&o[j].CreationTimestamp) {
		return o[i].Name < o[j].Name
	}
	return o[i].CreationTimestamp.Before(&o[j].CreationTimestamp)
}

// byRevision orders sets by revision, oldest first (by creation when
// revisions are equal or unreadable).
type byRevision []*appsv1.ReplicaSet

func (o byRevision) Len() int      { return len(o) }
func (o byRevision) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o byRevision) Less(i, j int) bool {
	a, err1 := revision(o[i])
	b, err2 := revision(o[j])
	if err1 != nil || err2 != nil || a == b {
		return byCreation(o).Less(i, j)
	}
	return a < b
}

// bySizeOlder orders sets largest first, older first among equals (who
// gives up replicas first when scaling down).
type bySizeOlder []*appsv1.ReplicaSet

func (o bySizeOlder) Len() int      { return len(o) }
func (o bySizeOlder) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o bySizeOlder) Less(i, j int) bool {
	if *o[i].Spec.Replicas == *o[j].Spec.Replicas {
		return byCreation(o).Less(i, j)
	}
	return *o[i].Spec.Replicas > *o[j].Spec.Replicas
}

// bySizeNewer orders sets largest first, newer first among equals (who
// gets replicas first when scaling up).
type bySizeNewer []*appsv1.ReplicaSet

func (o bySizeNewer) Len() int      { return len(o) }
func (o bySizeNewer) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o bySizeNewer) Less(i, j int) bool {
	if *o[i].Spec.Replicas == *o[j].Spec.Replicas {
		return byCreation(o).Less(j, i)
	}
	return *o[i].Spec.Replicas > *o[j].Spec.Replicas
}
