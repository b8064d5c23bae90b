package deployment

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Rollback event reasons.
const (
	reasonRollbackDone              = "DeploymentRollback"
	reasonRollbackRevisionNotFound  = "DeploymentRollbackRevisionNotFound"
	reasonRollbackTemplateUnchanged = "DeploymentRollbackTemplateUnchanged"
)

// rollbackTo is the revision the deprecated rollback annotation asks for
// (0: the previous one); nil when there is none. `kubectl rollout undo`
// does not use it (it patches the template itself); old clients do.
func rollbackTo(d *appsv1.Deployment) *int64 {
	v := d.Annotations[rollbackToAnnotation]
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// rollback puts the template of the asked-for revision back into the
// Deployment and clears the request.
func (dc *Controller) rollback(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := dc.newAndOld(ctx, d, sets, true)
	if err != nil {
		return ignoreTerminating(err)
	}
	all := append(oldRSs, newRS)
	to := *rollbackTo(d)
	if to == 0 {
		if to = lastRevision(all); to == 0 {
			dc.recorder.Eventf(d, corev1.EventTypeWarning, reasonRollbackRevisionNotFound, "Unable to find last revision.")
			return dc.clearRollbackTo(ctx, d)
		}
	}
	for _, rs := range all {
		if v, err := revision(rs); err != nil || v != to {
			continue
		}
		if equalIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			dc.recorder.Eventf(d, corev1.EventTypeWarning, reasonRollbackTemplateUnchanged, "The rollback revision contains the same template as current deployment %q", d.Name)
			return dc.clearRollbackTo(ctx, d)
		}
		d.Spec.Template.ObjectMeta = rs.Spec.Template.ObjectMeta
		d.Spec.Template.Spec = rs.Spec.Template.Spec
		d.Spec.Template.Labels = withoutLabel(rs.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		setDeploymentAnnotationsTo(d, rs)
		if err := dc.clearRollbackTo(ctx, d); err != nil {
			return err
		}
		dc.recorder.Eventf(d, corev1.EventTypeNormal, reasonRollbackDone, "Rolled back deployment %q to revision %d", d.Name, to)
		return nil
	}
	dc.recorder.Eventf(d, corev1.EventTypeWarning, reasonRollbackRevisionNotFound, "Unable to find the revision to rollback to.")
	return dc.clearRollbackTo(ctx, d)
}

func (dc *Controller) clearRollbackTo(ctx context.Context, d *appsv1.Deployment) error {
	delete(d.Annotations, rollbackToAnnotation)
	_, err := dc.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("clear rollback request of %s/%s: %w", d.Namespace, d.Name, err)
	}
	return nil
}

func withoutLabel(m map[string]string, k string) map[string]string {
	out := make(map[string]string, len(m))
	for a, b := range m {
		if a != k {
			out[a] = b
		}
	}
	return out
}
