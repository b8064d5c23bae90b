package builtin

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/kemudi/kemudi/internal/auth"
)

// The projected volume upstream's ServiceAccount admission mounts.
const (
	serviceAccountVolumePrefix = "kube-api-access-"
	serviceAccountMountPath    = "/var/run/secrets/kubernetes.io/serviceaccount"
	// warnOnlyTokenExpiration is the lifetime the kubelet asks for (and
	// upstream extends while warning).
	warnOnlyTokenExpiration = 3607
	mirrorPodAnnotation     = "kubernetes.io/config.mirror"
)

// ServiceAccount is upstream's ServiceAccount admission: a pod runs
// as the "default" account unless it names one, the account must exist,
// and its API credentials (a token, the cluster CA and the namespace) are
// mounted into every container from a projected kube-api-access-xxxxx
// volume unless the pod or the account opts out. Unlike upstream, a pod
// of a namespace whose default account does not exist yet is admitted
// without the volume (upstream refuses it until the service account
// controller made the account).
type ServiceAccount struct {
	ServiceAccounts Reader[*corev1.ServiceAccount]
}

// Mutate implements auth.MutatingAdmission.
func (p ServiceAccount) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || r.Operation != auth.Create {
		return nil
	}
	if _, mirror := pod.Annotations[mirrorPodAnnotation]; mirror {
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName //nolint:staticcheck // kept in step, as upstream
	sa, err := p.ServiceAccounts.Get(ctx, pod.Namespace, pod.Spec.ServiceAccountName)
	if apierrors.IsNotFound(err) && pod.Spec.ServiceAccountName == "default" {
		return nil
	}
	if apierrors.IsNotFound(err) {
		// Upstream's message names the resource in the singular.
		err = apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, pod.Spec.ServiceAccountName)
	}
	if err != nil {
		return apierrors.NewForbidden(podsGR, pod.Name,
			fmt.Errorf("error looking up service account %s/%s: %w", pod.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if automount(sa, pod) {
		mountServiceAccountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 {
		for _, ref := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: ref.Name})
		}
	}
	return nil
}

func automount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountServiceAccountToken mounts the projected token volume at
// /var/run/secrets/kubernetes.io/serviceaccount in every container that
// has nothing mounted there.
func mountServiceAccountToken(pod *corev1.Pod) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, serviceAccountVolumePrefix) {
			name = v.Name
			break
		}
	}
	hasVolume := name != ""
	if !hasVolume {
		name = serviceAccountVolumePrefix + utilrand.String(5)
	}
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: serviceAccountMountPath}
	needed := false
	addTo := func(containers []corev1.Container) {
		for i := range containers {
			mounted := false
			for _, m := range containers[i].VolumeMounts {
				if m.MountPath == serviceAccountMountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				containers[i].VolumeMounts = append(containers[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	addTo(pod.Spec.InitContainers)
	addTo(pod.Spec.Containers)
	if hasVolume || !needed {
		return
	}
	mode := corev1.ProjectedVolumeSourceDefaultMode
	expiration := int64(warnOnlyTokenExpiration)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
		Name: name,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: &mode,
			Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &expiration}},
				{ConfigMap: &corev1.ConfigMapProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
					Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
				}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
					Path:     "namespace",
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
				}}}},
			},
		}},
	})
}
