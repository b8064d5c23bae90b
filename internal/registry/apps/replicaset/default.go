package replicaset

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Default gives a replica set one replica when unset, and its pod template
// the pod defaults.
func Default(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = new(int32(1))
	}
	podspec.DefaultPodTemplateSpec(&rs.Spec.Template)
}
