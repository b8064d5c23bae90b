// Package node serves core/v1 nodes: cluster-scoped, with a status the
// kubelet reports, taints and pod CIDRs in the spec.
package node

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the nodes resource.
//
// Upstream keeps the status a node is created with (the kubelet registers
// its node with capacity, addresses and system info already filled in);
// the generic create clears status for kinds with a status subresource,
// so the API server must make an exception for nodes.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:       schema.GroupVersion{Version: "v1"},
		Resource:           "nodes",
		Kind:               "Node",
		KeepStatusOnCreate: true,
		SingularName:       "node",
		ShortNames:         []string{"no"},
		New:                func() runtime.Object { return &corev1.Node{} },
		NewList:            func() runtime.Object { return &corev1.NodeList{} },
		HasStatus:          true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.Node)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*corev1.Node))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.Node), old.(*corev1.Node))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Node))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return append(Validate(obj.(*corev1.Node)), ValidateUpdate(obj.(*corev1.Node), old.(*corev1.Node))...)
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*corev1.Node))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForStatusUpdate(obj.(*corev1.Node), old.(*corev1.Node))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.Node), old.(*corev1.Node))
			},
		},
		Table:            table(),
		SelectableFields: func(obj runtime.Object) fields.Set { return SelectableFields(obj.(*corev1.Node)) },
	}
}

// SelectableFields: `kubectl get nodes --field-selector spec.unschedulable=true`.
func SelectableFields(n *corev1.Node) fields.Set {
	unschedulable := "false"
	if n.Spec.Unschedulable {
		unschedulable = "true"
	}
	return fields.Set{"spec.unschedulable": unschedulable}
}
