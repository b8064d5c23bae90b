package node

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/ephemeral"
)

// podRefs lists the objects a bound pod lets its node read, as upstream's
// graph adds them: its service account, the secrets and config maps of
// its image pulls, env and volumes, its claims (persistent volume claims,
// those of its ephemeral volumes, and resource claims). A mirror pod
// refers to nothing: a node must not grant itself access by creating one.
func podRefs(p *corev1.Pod) []ref {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return nil
	}
	ns := p.Namespace
	seen := map[ref]bool{}
	var out []ref
	add := func(kind, name string) {
		r := ref{kind, ns, name}
		if name != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	add(KindServiceAccount, p.Spec.ServiceAccountName)
	for _, s := range p.Spec.ImagePullSecrets {
		add(KindSecret, s.Name)
	}
	forEachContainer(&p.Spec, func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range from {
			if e.SecretRef != nil {
				add(KindSecret, e.SecretRef.Name)
			}
			if e.ConfigMapRef != nil {
				add(KindConfigMap, e.ConfigMapRef.Name)
			}
		}
		for _, e := range env {
			if e.ValueFrom == nil {
				continue
			}
			if e.ValueFrom.SecretKeyRef != nil {
				add(KindSecret, e.ValueFrom.SecretKeyRef.Name)
			}
			if e.ValueFrom.ConfigMapKeyRef != nil {
				add(KindConfigMap, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	})
	for i := range p.Spec.Volumes {
		v := &p.Spec.Volumes[i]
		if name := volumeSecret(&v.VolumeSource); name != "" {
			add(KindSecret, name)
		}
		switch {
		case v.ConfigMap != nil:
			add(KindConfigMap, v.ConfigMap.Name)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					add(KindSecret, src.Secret.Name)
				}
				if src.ConfigMap != nil {
					add(KindConfigMap, src.ConfigMap.Name)
				}
			}
		case v.PersistentVolumeClaim != nil:
			add(KindPVC, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			add(KindPVC, ephemeral.VolumeClaimName(p, v))
		}
	}
	for _, name := range podClaims(p) {
		add(KindResourceClaim, name)
	}
	return out
}

// forEachContainer calls fn with the env of every init, regular and
// ephemeral container.
func forEachContainer(spec *corev1.PodSpec, fn func([]corev1.EnvVar, []corev1.EnvFromSource)) {
	for _, c := range spec.InitContainers {
		fn(c.Env, c.EnvFrom)
	}
	for _, c := range spec.Containers {
		fn(c.Env, c.EnvFrom)
	}
	for _, c := range spec.EphemeralContainers {
		fn(c.Env, c.EnvFrom)
	}
}

// volumeSecret is the secret a pod's volume source names in the pod's
// namespace, "" for none.
func volumeSecret(s *corev1.VolumeSource) string {
	switch {
	case s.Secret != nil:
		return s.Secret.SecretName
	case s.AzureFile != nil:
		return s.AzureFile.SecretName
	case s.CephFS != nil && s.CephFS.SecretRef != nil:
		return s.CephFS.SecretRef.Name
	case s.Cinder != nil && s.Cinder.SecretRef != nil:
		return s.Cinder.SecretRef.Name
	case s.FlexVolume != nil && s.FlexVolume.SecretRef != nil:
		return s.FlexVolume.SecretRef.Name
	case s.RBD != nil && s.RBD.SecretRef != nil:
		return s.RBD.SecretRef.Name
	case s.ScaleIO != nil && s.ScaleIO.SecretRef != nil:
		return s.ScaleIO.SecretRef.Name
	case s.ISCSI != nil && s.ISCSI.SecretRef != nil:
		return s.ISCSI.SecretRef.Name
	case s.StorageOS != nil && s.StorageOS.SecretRef != nil:
		return s.StorageOS.SecretRef.Name
	case s.CSI != nil && s.CSI.NodePublishSecretRef != nil:
		return s.CSI.NodePublishSecretRef.Name
	}
	return ""
}

// podClaims are the resource claims a pod uses: those spec.resourceClaims
// name, those made from a template for it (named in its status), and the
// claim made for its extended resources. A template's claim not made yet
// is not among them.
func podClaims(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.ResourceClaims {
		switch {
		case c.ResourceClaimName != nil:
			out = append(out, *c.ResourceClaimName)
		case c.ResourceClaimTemplateName != nil:
			for _, s := range p.Status.ResourceClaimStatuses {
				if s.Name == c.Name && s.ResourceClaimName != nil {
					out = append(out, *s.ResourceClaimName)
					break
				}
			}
		}
	}
	if s := p.Status.ExtendedResourceClaimStatus; s != nil && s.ResourceClaimName != "" {
		out = append(out, s.ResourceClaimName)
	}
	return out
}

// pvSecrets lists the secrets of a persistent volume's source that the
// kubelet reads (not the CSI controller's), in the namespace the source
// names or else its claim's, as upstream's VisitPVSecretNames.
func pvSecrets(pv *corev1.PersistentVolume) []ref {
	claimNS := ""
	if pv.Spec.ClaimRef != nil {
		claimNS = pv.Spec.ClaimRef.Namespace
	}
	var out []ref
	add := func(ns, name string) {
		if name != "" {
			out = append(out, ref{KindSecret, ns, name})
		}
	}
	// orClaim is the namespace a source's secret reference names, or its
	// claim's when it names none (PVs stored before the field existed).
	orClaim := func(ns string) string {
		if ns != "" {
			return ns
		}
		return claimNS
	}
	s := &pv.Spec.PersistentVolumeSource
	switch {
	case s.AzureFile != nil:
		ns := claimNS
		if s.AzureFile.SecretNamespace != nil && *s.AzureFile.SecretNamespace != "" {
			ns = *s.AzureFile.SecretNamespace
		}
		add(ns, s.AzureFile.SecretName)
	case s.CephFS != nil && s.CephFS.SecretRef != nil:
		add(orClaim(s.CephFS.SecretRef.Namespace), s.CephFS.SecretRef.Name)
	case s.Cinder != nil && s.Cinder.SecretRef != nil:
		add(s.Cinder.SecretRef.Namespace, s.Cinder.SecretRef.Name)
	case s.FlexVolume != nil && s.FlexVolume.SecretRef != nil:
		add(orClaim(s.FlexVolume.SecretRef.Namespace), s.FlexVolume.SecretRef.Name)
	case s.RBD != nil && s.RBD.SecretRef != nil:
		add(orClaim(s.RBD.SecretRef.Namespace), s.RBD.SecretRef.Name)
	case s.ScaleIO != nil && s.ScaleIO.SecretRef != nil:
		add(orClaim(s.ScaleIO.SecretRef.Namespace), s.ScaleIO.SecretRef.Name)
	case s.ISCSI != nil && s.ISCSI.SecretRef != nil:
		add(orClaim(s.ISCSI.SecretRef.Namespace), s.ISCSI.SecretRef.Name)
	case s.StorageOS != nil && s.StorageOS.SecretRef != nil:
		add(s.StorageOS.SecretRef.Namespace, s.StorageOS.SecretRef.Name)
	case s.CSI != nil:
		// The controller's publish and expand secrets are the CSI
		// controller's, not the kubelet's.
		for _, r := range []*corev1.SecretReference{s.CSI.NodePublishSecretRef, s.CSI.NodeStageSecretRef, s.CSI.NodeExpandSecretRef} {
			if r != nil {
				add(r.Namespace, r.Name)
			}
		}
	}
	return out
}
