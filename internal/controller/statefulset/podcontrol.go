package statefulset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
)

// podControl does the decision core's writes through the API, with
// upstream's events (SuccessfulCreate "Create Pod web-0 in StatefulSet
// web successful", ...).
type podControl struct {
	client   kubernetes.Interface
	claims   corelisters.PersistentVolumeClaimLister
	recorder record.EventRecorder
}

func title(verb string) string { return strings.ToUpper(verb[:1]) + verb[1:] }

func (pc *podControl) podEvent(verb string, set *appsv1.StatefulSet, p *corev1.Pod, err error) {
	if err == nil {
		pc.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title(verb), "%s Pod %s in StatefulSet %s successful", title(verb), p.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title(verb), "%s Pod %s in StatefulSet %s failed error: %s", title(verb), p.Name, set.Name, err)
}

func (pc *podControl) claimEvent(verb string, set *appsv1.StatefulSet, p *corev1.Pod, claim *corev1.PersistentVolumeClaim, err error) {
	if err == nil {
		pc.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title(verb), "%s Claim %s Pod %s in StatefulSet %s success", title(verb), claim.Name, p.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title(verb), "%s Claim %s for Pod %s in StatefulSet %s failed error: %s", title(verb), claim.Name, p.Name, set.Name, err)
}

func (pc *podControl) createPod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	if err := pc.createClaims(ctx, set, p); err != nil {
		pc.podEvent("create", set, p, err)
		return err
	}
	_, err := pc.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return err
	}
	if err == nil {
		if err := pc.updateClaimsRetention(ctx, set, p); err != nil {
			pc.podEvent("update", set, p, err)
			return err
		}
	}
	pc.podEvent("create", set, p, err)
	return err
}

func (pc *podControl) updatePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	attempted := false
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		consistent := true
		if !identityMatches(set, p) {
			updateIdentity(set, p)
			consistent = false
		}
		if !storageMatches(set, p) {
			updateStorage(set, p)
			consistent = false
			if err = pc.createClaims(ctx, set, p); err != nil {
				pc.podEvent("update", set, p, err)
				return err
			}
		}
		match, mErr := pc.claimsMatchRetention(set, p)
		if mErr != nil {
			pc.podEvent("update", set, p, mErr)
			return mErr
		}
		if !match {
			if err = pc.updateClaimsRetention(ctx, set, p); err != nil {
				pc.podEvent("update", set, p, err)
				return err
			}
			consistent = false
		}
		if consistent {
			err = nil
			break
		}
		attempted = true
		_, err = pc.client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			break
		}
		fresh, getErr := pc.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if getErr != nil {
			break
		}
		p = fresh
	}
	if attempted {
		pc.podEvent("update", set, p, err)
	}
	return err
}

func (pc *podControl) deletePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	err := pc.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		pc.podEvent("delete", set, p, err)
		return err
	}
	pc.podEvent("delete", set, p, nil)
	return nil
}

func (pc *podControl) createMissingClaims(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	if err := pc.createClaims(ctx, set, p); err != nil {
		return err
	}
	if err := pc.updateClaimsRetention(ctx, set, p); err != nil {
		pc.podEvent("update", set, p, err)
		return err
	}
	return nil
}

// createClaims creates the pod's claims that do not exist; a claim
// being deleted is an error (the pod would lose its data).
func (pc *podControl) createClaims(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	var errs []error
	claims := claimsFor(set, p)
	names := make([]string, 0, len(claims))
	for n := range claims {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		claim := claims[n]
		existing, err := pc.claims.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		switch {
		case apierrors.IsNotFound(err):
			_, err := pc.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, &claim, metav1.CreateOptions{})
			if err != nil {
				errs = append(errs, fmt.Errorf("failed to create PVC %s: %w", claim.Name, err))
			}
			if err == nil || !apierrors.IsAlreadyExists(err) {
				pc.claimEvent("create", set, p, &claim, err)
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("failed to retrieve PVC %s: %w", claim.Name, err))
			pc.claimEvent("create", set, p, &claim, err)
		case existing.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("pvc %s is being deleted", claim.Name))
		}
	}
	return errors.Join(errs...)
}

func (pc *podControl) claimsMatchRetention(set *appsv1.StatefulSet, p *corev1.Pod) (bool, error) {
	o := ordinal(p)
	for i := range set.Spec.VolumeClaimTemplates {
		name := claimName(set, &set.Spec.VolumeClaimTemplates[i], o)
		claim, err := pc.claims.PersistentVolumeClaims(set.Namespace).Get(name)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return false, fmt.Errorf("could not retrieve claim %s for %s when checking PVC deletion policy: %w", name, p.Name, err)
		case !claimOwnerUpToDate(claim, set, p):
			return false, nil
		}
	}
	return true, nil
}

func (pc *podControl) updateClaimsRetention(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	o := ordinal(p)
	for i := range set.Spec.VolumeClaimTemplates {
		name := claimName(set, &set.Spec.VolumeClaimTemplates[i], o)
		claim, err := pc.claims.PersistentVolumeClaims(set.Namespace).Get(name)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("could not retrieve claim %s for %s when checking PVC deletion policy: %w", name, p.Name, err)
		}
		if hasUnexpectedController(claim, set, p) {
			pc.recorder.Eventf(set, corev1.EventTypeWarning, "ConflictingController",
				"PersistentVolumeClaim %s has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim", name)
		}
		if claimOwnerUpToDate(claim, set, p) {
			continue
		}
		up := claim.DeepCopy()
		setClaimOwners(up, set, p)
		if _, err := pc.client.CoreV1().PersistentVolumeClaims(up.Namespace).Update(ctx, up, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("could not update claim %s for delete policy ownerRefs: %w", name, err)
		}
	}
	return nil
}

func (pc *podControl) claimIsStale(set *appsv1.StatefulSet, p *corev1.Pod) (bool, error) {
	if retentionPolicy(set).WhenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false, nil
	}
	for _, c := range claimsFor(set, p) {
		claim, err := pc.claims.PersistentVolumeClaims(c.Namespace).Get(c.Name)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return false, err
		case hasStaleOwnerRef(claim, p, podKind):
			return true, nil
		}
	}
	return false, nil
}
