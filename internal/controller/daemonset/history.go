package daemonset

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/controller"
)

// matches says whether a revision holds the DaemonSet's template.
func matches(ds *appsv1.DaemonSet, rev *appsv1.ControllerRevision) (bool, error) {
	patch, err := controller.TemplatePatch(ds)
	if err != nil {
		return false, err
	}
	return controller.EqualRevisionData(patch, rev.Data.Raw), nil
}

func maxRevision(revs []*appsv1.ControllerRevision) int64 {
	var m int64
	for _, r := range revs {
		m = max(m, r.Revision)
	}
	return m
}

// revisions claims the DaemonSet's ControllerRevisions.
func (dc *Controller) revisions(ctx context.Context, ds *appsv1.DaemonSet) ([]*appsv1.ControllerRevision, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, err
	}
	all, err := dc.revisionLister.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	m := &controller.RefManager{
		Owner: ds, Kind: controllerKind, Selector: sel,
		Patch:    controller.RevisionPatcher(dc.client),
		CanAdopt: dc.recheck(ds),
	}
	return controller.Claim(ctx, m, all)
}

// history finds (or makes) the revision of the current template and
// returns it with the older ones, renumbering the current one past them
// (a rollback makes an old revision current again).
func (dc *Controller) history(ctx context.Context, ds *appsv1.DaemonSet) (cur *appsv1.ControllerRevision, old []*appsv1.ControllerRevision, err error) {
	revs, err := dc.revisions(ctx, ds)
	if err != nil {
		return nil, nil, err
	}
	var current []*appsv1.ControllerRevision
	for _, r := range revs {
		if _, ok := r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; !ok {
			up := r.DeepCopy()
			if up.Labels == nil {
				up.Labels = map[string]string{}
			}
			up.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = up.Name
			if r, err = dc.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, up, metav1.UpdateOptions{}); err != nil {
				return nil, nil, err
			}
		}
		ok, err := matches(ds, r)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			current = append(current, r)
		} else {
			old = append(old, r)
		}
	}
	next := maxRevision(old) + 1
	if len(current) == 0 {
		cur, err = dc.snapshot(ctx, ds, next)
		return cur, old, err
	}
	if cur, err = dc.dedup(ctx, ds, current); err != nil {
		return nil, nil, err
	}
	if cur.Revision < next {
		up := cur.DeepCopy()
		up.Revision = next
		if cur, err = dc.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, up, metav1.UpdateOptions{}); err != nil {
			return nil, nil, err
		}
	}
	return cur, old, nil
}

// dedup keeps the highest of several revisions of the current template,
// relabelling pods of the others to it.
func (dc *Controller) dedup(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	if len(revs) == 1 {
		return revs[0], nil
	}
	keep := revs[0]
	for _, r := range revs {
		if r.Revision >= keep.Revision {
			keep = r
		}
	}
	hash := keep.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	pods, err := dc.daemonPods(ctx, ds)
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
			continue
		}
		patch, _ := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"labels": map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash}}})
		if _, err := dc.client.CoreV1().Pods(ds.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	for _, r := range revs {
		if r.Name == keep.Name {
			continue
		}
		if err := dc.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return keep, nil
}

// snapshot stores the current template as revision number rev, named
// <ds>-<hash>. A name taken by another template is a hash collision: the
// DaemonSet's collisionCount goes up and the sync is retried.
func (dc *Controller) snapshot(ctx context.Context, ds *appsv1.DaemonSet, rev int64) (*appsv1.ControllerRevision, error) {
	patch, err := controller.TemplatePatch(ds)
	if err != nil {
		return nil, err
	}
	hash := controller.ComputeHash(&ds.Spec.Template, ds.Status.CollisionCount)
	lbls := map[string]string{}
	for k, v := range ds.Spec.Template.Labels {
		lbls[k] = v
	}
	lbls[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	want := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ds.Name + "-" + hash,
			Namespace:       ds.Namespace,
			Labels:          lbls,
			Annotations:     ds.Annotations,
			OwnerReferences: []metav1.OwnerReference{*controller.ControllerRef(ds, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: rev,
	}
	created, err := dc.client.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, want, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return created, err
	}
	existing, getErr := dc.client.AppsV1().ControllerRevisions(ds.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	if getErr != nil {
		return nil, getErr
	}
	if ok, _ := matches(ds, existing); ok {
		return existing, nil
	}
	live, getErr := dc.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	if getErr != nil {
		return nil, getErr
	}
	if !reflect.DeepEqual(live.Status.CollisionCount, ds.Status.CollisionCount) {
		return nil, fmt.Errorf("found a stale collision count of DaemonSet %q while processing; will retry until it is updated", ds.Name)
	}
	if live.Status.CollisionCount == nil {
		live.Status.CollisionCount = new(int32)
	}
	*live.Status.CollisionCount++
	if _, err := dc.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	return nil, err
}

// cleanupHistory deletes the oldest revisions beyond
// revisionHistoryLimit that no pod still runs.
func (dc *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision) error {
	limit := int32(10)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = *ds.Spec.RevisionHistoryLimit
	}
	toKill := len(old) - int(limit)
	if toKill <= 0 {
		return nil
	}
	pods, err := dc.daemonPods(ctx, ds)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, p := range pods {
		if h := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" {
			live[h] = true
		}
	}
	sorted := append([]*appsv1.ControllerRevision(nil), old...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Revision < sorted[j].Revision })
	for _, r := range sorted {
		if toKill <= 0 {
			break
		}
		if live[r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			continue
		}
		if err := dc.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		toKill--
	}
	return nil
}
