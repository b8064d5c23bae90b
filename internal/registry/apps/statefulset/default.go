package statefulset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/registry/core/persistentvolumeclaim"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Default fills a stateful set's unset fields as apps/v1 does: ordered
// pod management, a RollingUpdate strategy from partition 0 with one pod
// unavailable at a time, claims retained when the set is deleted or scaled
// down, one replica, ten revisions kept; then its pod template and volume
// claim templates.
func Default(ss *appsv1.StatefulSet) {
	spec := &ss.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil {
		if ru.Partition == nil {
			ru.Partition = new(int32(0))
		}
		// maxUnavailable is beta and on by default in 1.37.
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = new(intstr.FromInt32(1))
		}
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = new(int32(1))
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = new(int32(10))
	}
	podspec.DefaultPodTemplateSpec(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		defaultClaimTemplate(&spec.VolumeClaimTemplates[i])
	}
}

// defaultClaimTemplate defaults a volume claim template as a claim
// (Filesystem volume mode, Pending phase, rounded quantities). Its
// apiVersion and kind are cleared, as upstream's decoding clears them:
// protobuf storage does not keep them anyway. Upstream sets them again on
// every read (see TypeClaimTemplates).
func defaultClaimTemplate(pvc *corev1.PersistentVolumeClaim) {
	pvc.APIVersion, pvc.Kind = "", ""
	persistentvolumeclaim.Default(pvc)
}

// TypeClaimTemplates sets apiVersion v1 and kind PersistentVolumeClaim on
// each claim template, as upstream does whenever it serves a stateful set
// (an artefact of its conversion code that clients now expect: without
// it, `kubectl apply` of a manifest that spells them out finds a
// difference every time). It is for the server to call on the objects it
// returns.
func TypeClaimTemplates(ss *appsv1.StatefulSet) {
	for i := range ss.Spec.VolumeClaimTemplates {
		ss.Spec.VolumeClaimTemplates[i].APIVersion = "v1"
		ss.Spec.VolumeClaimTemplates[i].Kind = "PersistentVolumeClaim"
	}
}
