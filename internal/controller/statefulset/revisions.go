package statefulset

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/kemudi/kemudi/internal/controller"
)

// revisionHashLabel is the hash label every ControllerRevision of a
// StatefulSet carries (upstream's history package).
const revisionHashLabel = "controller.kubernetes.io/hash"

// hashRevision is upstream's name hash of a revision: FNV-32 of its data
// and the collision count.
func hashRevision(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func revisionName(prefix, hash string) string {
	if len(prefix) > 223 {
		prefix = prefix[:223]
	}
	return prefix + "-" + hash
}

// newRevision is the revision of the set's current template.
func newRevision(set *appsv1.StatefulSet, number int64, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	patch, err := controller.TemplatePatch(set)
	if err != nil {
		return nil, err
	}
	lbls := map[string]string{}
	for k, v := range set.Spec.Template.Labels {
		lbls[k] = v
	}
	annotations := map[string]string{}
	for k, v := range set.Annotations {
		annotations[k] = v
	}
	hash := hashRevision(patch, collisionCount)
	lbls[revisionHashLabel] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            revisionName(set.Name, hash),
			Namespace:       set.Namespace,
			Labels:          lbls,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*controller.ControllerRef(set, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: number,
	}, nil
}

// equalRevision compares revision data as JSON values.
func equalRevision(a, b *appsv1.ControllerRevision) bool {
	if a == nil || b == nil {
		return a == b
	}
	return controller.EqualRevisionData(a.Data.Raw, b.Data.Raw)
}

// applyRevision returns the set with a revision's template.
func applyRevision(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	clone := set.DeepCopy()
	original, err := json.Marshal(clone)
	if err != nil {
		return nil, err
	}
	patched, err := strategicpatch.StrategicMergePatch(original, rev.Data.Raw, clone)
	if err != nil {
		return nil, fmt.Errorf("apply revision %s: %w", rev.Name, err)
	}
	restored := &appsv1.StatefulSet{}
	if err := json.Unmarshal(patched, restored); err != nil {
		return nil, err
	}
	clone.Spec = restored.Spec
	return clone, nil
}

func sortRevisions(revs []*appsv1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

func nextRevision(sorted []*appsv1.ControllerRevision) int64 {
	if len(sorted) == 0 {
		return 1
	}
	return sorted[len(sorted)-1].Revision + 1
}

// revisionsOf returns the current and update revisions, creating the
// update revision, or renumbering an equal older one (a rollback), as
// upstream does.
func (sc *Controller) revisionsOf(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (current, update *appsv1.ControllerRevision, collisionCount int32, err error) {
	sortRevisions(revs)
	if set.Status.CollisionCount != nil {
		collisionCount = *set.Status.CollisionCount
	}
	update, err = newRevision(set, nextRevision(revs), &collisionCount)
	if err != nil {
		return nil, nil, collisionCount, err
	}
	var equal []*appsv1.ControllerRevision
	for _, r := range revs {
		if equalRevision(r, update) {
			equal = append(equal, r)
		}
	}
	switch n := len(equal); {
	case n > 0 && equalRevision(revs[len(revs)-1], equal[n-1]):
		update = revs[len(revs)-1]
	case n > 0:
		if update, err = sc.renumber(ctx, equal[n-1], update.Revision); err != nil {
			return nil, nil, collisionCount, err
		}
	default:
		if update, err = sc.createRevision(ctx, set, update, &collisionCount); err != nil {
			return nil, nil, collisionCount, err
		}
	}
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			current = r
			break
		}
	}
	if current == nil {
		current = update
	}
	return current, update, collisionCount, nil
}

func (sc *Controller) renumber(ctx context.Context, rev *appsv1.ControllerRevision, number int64) (*appsv1.ControllerRevision, error) {
	up := rev.DeepCopy()
	for attempt := 0; ; attempt++ {
		if up.Revision == number {
			return up, nil
		}
		up.Revision = number
		updated, err := sc.client.AppsV1().ControllerRevisions(up.Namespace).Update(ctx, up, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return nil, err
		}
		if up, err = sc.client.AppsV1().ControllerRevisions(rev.Namespace).Get(ctx, rev.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
}

// createRevision stores a revision, bumping the collision count while
// its name is taken by different data.
func (sc *Controller) createRevision(ctx context.Context, set *appsv1.StatefulSet, rev *appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	clone := rev.DeepCopy()
	for i := 0; i < 100; i++ {
		hash := hashRevision(rev.Data.Raw, collisionCount)
		clone.Name = revisionName(set.Name, hash)
		clone.Labels[revisionHashLabel] = hash
		created, err := sc.client.AppsV1().ControllerRevisions(set.Namespace).Create(ctx, clone, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return created, err
		}
		existing, err := sc.client.AppsV1().ControllerRevisions(set.Namespace).Get(ctx, clone.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if equalRevision(existing, clone) {
			return existing, nil
		}
		*collisionCount++
	}
	return nil, fmt.Errorf("no free revision name for statefulset %s/%s", set.Namespace, set.Name)
}

// truncateHistory deletes the oldest revisions no pod uses beyond
// revisionHistoryLimit.
func (sc *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, current, update *appsv1.ControllerRevision) error {
	live := map[string]bool{}
	if current != nil {
		live[current.Name] = true
	}
	if update != nil {
		live[update.Name] = true
	}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	var history []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			history = append(history, r)
		}
	}
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	if limit < 0 || len(history) <= limit {
		return nil
	}
	for _, r := range history[:len(history)-limit] {
		if err := sc.client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
