package podspec

import (
	corev1 "k8s.io/api/core/v1"
)

// DropDisabledFields clears the fields of alpha (off by default) features
// in Kubernetes 1.37, unless old (the stored spec on update, nil on
// create) already uses them, as upstream's DropDisabledPodFields does.
// Pods and workloads call it from PrepareForCreate and PrepareForUpdate.
func DropDisabledFields(spec, old *corev1.PodSpec) {
	// Workload-aware scheduling and the eviction request API.
	if old == nil || old.SchedulingGroup == nil {
		spec.SchedulingGroup = nil
	}
	if old == nil || len(old.EvictionResponders) == 0 {
		spec.EvictionResponders = nil
	}
	if !anyContainer(old, func(c *corev1.Container) bool { return c.Lifecycle != nil && c.Lifecycle.StopSignal != nil }) {
		eachContainer(spec, func(c *corev1.Container) {
			if c.Lifecycle != nil {
				c.Lifecycle.StopSignal = nil
			}
		})
	}
	if !anyContainer(old, func(c *corev1.Container) bool { return probeUses(c, httpProtocolSet) }) {
		eachContainer(spec, func(c *corev1.Container) { eachHTTPGet(c, func(h *corev1.HTTPGetAction) { h.Protocol = nil }) })
	}
	if !anyContainer(old, func(c *corev1.Container) bool { return probeUses(c, grpcModeSet) }) {
		eachContainer(spec, func(c *corev1.Container) {
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if p != nil && p.GRPC != nil {
					p.GRPC.Mode = nil
				}
			}
		})
	}
	if !anyContainer(old, func(c *corev1.Container) bool {
		for _, m := range c.VolumeMounts {
			if len(m.BindMountOptions) > 0 {
				return true
			}
		}
		return false
	}) {
		eachContainer(spec, func(c *corev1.Container) {
			for i := range c.VolumeMounts {
				c.VolumeMounts[i].BindMountOptions = nil
			}
		})
	}
	if old == nil || !anyVolume(old.Volumes, func(v *corev1.Volume) bool { return v.EmptyDir != nil && v.EmptyDir.Mode != nil }) {
		for i := range spec.Volumes {
			if spec.Volumes[i].EmptyDir != nil {
				spec.Volumes[i].EmptyDir.Mode = nil
			}
		}
	}
	if old == nil || !anyVolume(old.Volumes, usesVolumeUser) {
		for i := range spec.Volumes {
			clearVolumeUser(&spec.Volumes[i])
		}
	}
}

func eachContainer(spec *corev1.PodSpec, fn func(c *corev1.Container)) {
	for i := range spec.InitContainers {
		fn(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		fn(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		fn((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
}

func anyContainer(spec *corev1.PodSpec, fn func(c *corev1.Container) bool) bool {
	if spec == nil {
		return false
	}
	found := false
	eachContainer(spec, func(c *corev1.Container) { found = found || fn(c) })
	return found
}

func anyVolume(vols []corev1.Volume, fn func(v *corev1.Volume) bool) bool {
	for i := range vols {
		if fn(&vols[i]) {
			return true
		}
	}
	return false
}

func eachHTTPGet(c *corev1.Container, fn func(h *corev1.HTTPGetAction)) {
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil && p.HTTPGet != nil {
			fn(p.HTTPGet)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				fn(h.HTTPGet)
			}
		}
	}
}

func httpProtocolSet(p *corev1.Probe) bool { return p.HTTPGet != nil && p.HTTPGet.Protocol != nil }
func grpcModeSet(p *corev1.Probe) bool     { return p.GRPC != nil && p.GRPC.Mode != nil }

func probeUses(c *corev1.Container, fn func(p *corev1.Probe) bool) bool {
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil && fn(p) {
			return true
		}
	}
	return false
}

// usesVolumeUser reports the atomic-writer user fields (alpha).
func usesVolumeUser(v *corev1.Volume) bool {
	used := false
	visitVolumeUsers(v, func(p **int64) { used = used || *p != nil })
	return used
}

func clearVolumeUser(v *corev1.Volume) {
	visitVolumeUsers(v, func(p **int64) { *p = nil })
}

func visitVolumeUsers(v *corev1.Volume, fn func(p **int64)) {
	keys := func(items []corev1.KeyToPath) {
		for i := range items {
			fn(&items[i].User)
		}
	}
	files := func(items []corev1.DownwardAPIVolumeFile) {
		for i := range items {
			fn(&items[i].User)
		}
	}
	if s := v.Secret; s != nil {
		fn(&s.DefaultUser)
		keys(s.Items)
	}
	if c := v.ConfigMap; c != nil {
		fn(&c.DefaultUser)
		keys(c.Items)
	}
	if d := v.DownwardAPI; d != nil {
		fn(&d.DefaultUser)
		files(d.Items)
	}
	if p := v.Projected; p != nil {
		fn(&p.DefaultUser)
		for i := range p.Sources {
			s := &p.Sources[i]
			if s.Secret != nil {
				keys(s.Secret.Items)
			}
			if s.ConfigMap != nil {
				keys(s.ConfigMap.Items)
			}
			if s.DownwardAPI != nil {
				files(s.DownwardAPI.Items)
			}
			if s.ServiceAccountToken != nil {
				fn(&s.ServiceAccountToken.User)
			}
			if s.ClusterTrustBundle != nil {
				fn(&s.ClusterTrustBundle.User)
			}
			if s.PodCertificate != nil {
				fn(&s.PodCertificate.User)
			}
		}
	}
}
