package podspec

import (
	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// defaultSpec fills the PodSpec fields upstream defaults on every object
// that embeds a pod spec (pods and all templates).
func defaultSpec(spec *corev1.PodSpec) {
	// serviceAccount is the deprecated alias of serviceAccountName: the
	// newer field wins and the two are kept equal.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount //nolint:staticcheck // kept in sync on purpose
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName //nolint:staticcheck // kept in sync on purpose

	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		period := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &period
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}

	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	RoundResourceList(spec.Overhead)
	if spec.Resources != nil {
		RoundResourceList(spec.Resources.Limits)
		RoundResourceList(spec.Resources.Requests)
	}
}

// RoundResourceList rounds every quantity up to milli precision, as
// upstream's defaulting does (1.5m becomes 2m).
func RoundResourceList(list corev1.ResourceList) {
	for name, q := range list {
		q.RoundUp(resource.Milli)
		list[name] = q
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicyFor(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		from := c.Env[i].ValueFrom
		if from == nil {
			continue
		}
		if from.FieldRef != nil && from.FieldRef.APIVersion == "" {
			from.FieldRef.APIVersion = "v1"
		}
		if from.FileKeyRef != nil && from.FileKeyRef.Optional == nil {
			optional := false
			from.FileKeyRef.Optional = &optional
		}
	}
	RoundResourceList(c.Resources.Limits)
	RoundResourceList(c.Resources.Requests)
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		if c.Lifecycle.PostStart != nil {
			defaultHTTPGet(c.Lifecycle.PostStart.HTTPGet)
		}
		if c.Lifecycle.PreStop != nil {
			defaultHTTPGet(c.Lifecycle.PreStop.HTTPGet)
		}
	}
}

// pullPolicyFor is Always for an image tagged latest (or not tagged at
// all), IfNotPresent otherwise, including images pinned by digest and
// references that do not parse.
func pullPolicyFor(image string) corev1.PullPolicy {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return corev1.PullIfNotPresent
	}
	tag := ""
	if tagged, ok := named.(reference.Tagged); ok {
		tag = tagged.Tag()
	}
	_, digested := named.(reference.Digested)
	if tag == "latest" || (tag == "" && !digested) {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		service := ""
		p.GRPC.Service = &service
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if src.HostPath == nil && src.EmptyDir == nil && src.GCEPersistentDisk == nil &&
		src.AWSElasticBlockStore == nil && src.GitRepo == nil && src.Secret == nil &&
		src.NFS == nil && src.ISCSI == nil && src.Glusterfs == nil &&
		src.PersistentVolumeClaim == nil && src.RBD == nil && src.FlexVolume == nil &&
		src.Cinder == nil && src.CephFS == nil && src.Flocker == nil &&
		src.DownwardAPI == nil && src.FC == nil && src.AzureFile == nil &&
		src.ConfigMap == nil && src.VsphereVolume == nil && src.Quobyte == nil &&
		src.AzureDisk == nil && src.PhotonPersistentDisk == nil && src.Projected == nil &&
		src.PortworxVolume == nil && src.ScaleIO == nil && src.StorageOS == nil &&
		src.CSI == nil && src.Ephemeral == nil && src.Image == nil {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if src.HostPath != nil && src.HostPath.Type == nil {
		unset := corev1.HostPathUnset
		src.HostPath.Type = &unset
	}
	if src.Secret != nil && src.Secret.DefaultMode == nil {
		mode := corev1.SecretVolumeSourceDefaultMode
		src.Secret.DefaultMode = &mode
	}
	if src.ConfigMap != nil && src.ConfigMap.DefaultMode == nil {
		mode := corev1.ConfigMapVolumeSourceDefaultMode
		src.ConfigMap.DefaultMode = &mode
	}
	if src.DownwardAPI != nil {
		if src.DownwardAPI.DefaultMode == nil {
			mode := corev1.DownwardAPIVolumeSourceDefaultMode
			src.DownwardAPI.DefaultMode = &mode
		}
		defaultDownwardAPIFiles(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		if src.Projected.DefaultMode == nil {
			mode := corev1.ProjectedVolumeSourceDefaultMode
			src.Projected.DefaultMode = &mode
		}
		for i := range src.Projected.Sources {
			s := &src.Projected.Sources[i]
			if s.DownwardAPI != nil {
				defaultDownwardAPIFiles(s.DownwardAPI.Items)
			}
			if s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds == nil {
				hour := int64(3600)
				s.ServiceAccountToken.ExpirationSeconds = &hour
			}
		}
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if src.RBD != nil {
		if src.RBD.RBDPool == "" {
			src.RBD.RBDPool = "rbd"
		}
		if src.RBD.RadosUser == "" {
			src.RBD.RadosUser = "admin"
		}
		if src.RBD.Keyring == "" {
			src.RBD.Keyring = "/etc/ceph/keyring"
		}
	}
	if src.AzureDisk != nil {
		if src.AzureDisk.CachingMode == nil {
			mode := corev1.AzureDataDiskCachingReadWrite
			src.AzureDisk.CachingMode = &mode
		}
		if src.AzureDisk.FSType == nil {
			fs := "ext4"
			src.AzureDisk.FSType = &fs
		}
		if src.AzureDisk.ReadOnly == nil {
			ro := false
			src.AzureDisk.ReadOnly = &ro
		}
		if src.AzureDisk.Kind == nil {
			kind := corev1.AzureSharedBlobDisk
			src.AzureDisk.Kind = &kind
		}
	}
	if src.ScaleIO != nil {
		if src.ScaleIO.StorageMode == "" {
			src.ScaleIO.StorageMode = "ThinProvisioned"
		}
		if src.ScaleIO.FSType == "" {
			src.ScaleIO.FSType = "xfs"
		}
	}
	if src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil {
		claim := &src.Ephemeral.VolumeClaimTemplate.Spec
		if claim.VolumeMode == nil {
			mode := corev1.PersistentVolumeFilesystem
			claim.VolumeMode = &mode
		}
		RoundResourceList(claim.Resources.Limits)
		RoundResourceList(claim.Resources.Requests)
	}
	if src.Image != nil && src.Image.PullPolicy == "" {
		src.Image.PullPolicy = pullPolicyFor(src.Image.Reference)
	}
}

func defaultDownwardAPIFiles(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil && items[i].FieldRef.APIVersion == "" {
			items[i].FieldRef.APIVersion = "v1"
		}
	}
}

// DefaultPodOnly applies the defaults upstream gives a Pod's spec but not
// a template's: a negative terminationGracePeriodSeconds becomes 1,
// requests default to limits, enableServiceLinks to true, and with
// hostNetwork each hostPort to its containerPort.
func DefaultPodOnly(spec *corev1.PodSpec) {
	if g := spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		one := int64(1)
		spec.TerminationGracePeriodSeconds = &one
	}
	for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range list {
			requestsFromLimits(&list[i].Resources)
		}
	}
	if spec.EnableServiceLinks == nil {
		enable := corev1.DefaultEnableServiceLinks
		spec.EnableServiceLinks = &enable
	}
	if spec.HostNetwork {
		for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
			for i := range list {
				for j := range list[i].Ports {
					if list[i].Ports[j].HostPort == 0 {
						list[i].Ports[j].HostPort = list[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
}

// requestsFromLimits fills a missing request with its limit.
func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = make(corev1.ResourceList, len(r.Limits))
	}
	for name, limit := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = limit.DeepCopy()
		}
	}
}
