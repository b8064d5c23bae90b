// Package prioritylevelconfiguration serves flowcontrol.apiserver.k8s.io/v1
// priority levels: the shares of the server's concurrency that API
// Priority and Fairness gives each class of requests, and what happens to
// requests past it (queue or reject).
package prioritylevelconfiguration

import (
	"context"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the prioritylevelconfigurations resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     flowcontrolv1.SchemeGroupVersion,
		Resource:         "prioritylevelconfigurations",
		Kind:             "PriorityLevelConfiguration",
		SingularName:     "prioritylevelconfiguration",
		New:              func() runtime.Object { return &flowcontrolv1.PriorityLevelConfiguration{} },
		NewList:          func() runtime.Object { return &flowcontrolv1.PriorityLevelConfigurationList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*flowcontrolv1.PriorityLevelConfiguration)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*flowcontrolv1.PriorityLevelConfiguration))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*flowcontrolv1.PriorityLevelConfiguration))
			},
		},
		StatusHooks: registry.StatusHooks{
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return validateStatus(&obj.(*flowcontrolv1.PriorityLevelConfiguration).Status, field.NewPath("status"))
			},
			// Upstream's status strategy keeps all stored metadata.
			Meta: registry.StatusMetaAllStored,
		},
		Table: table(),
	}
}

// Upstream's v1 defaults.
const (
	DefaultNominalConcurrencyShares int32 = 30
	DefaultHandSize                 int32 = 8
	DefaultQueues                   int32 = 64
	DefaultQueueLengthLimit         int32 = 50
)

// Default sets upstream's v1 defaults: shares 30 (0 for exempt), lendable
// 0%, and 64 queues, hands of 8, 50 requests a queue.
func Default(pl *flowcontrolv1.PriorityLevelConfiguration) {
	if e := pl.Spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = ptr.To[int32](0)
		}
		if e.LendablePercent == nil {
			e.LendablePercent = ptr.To[int32](0)
		}
	}
	l := pl.Spec.Limited
	if l == nil {
		return
	}
	if l.NominalConcurrencyShares == nil {
		l.NominalConcurrencyShares = ptr.To(DefaultNominalConcurrencyShares)
	}
	if l.LendablePercent == nil {
		l.LendablePercent = ptr.To[int32](0)
	}
	if q := l.LimitResponse.Queuing; q != nil {
		if q.HandSize == 0 {
			q.HandSize = DefaultHandSize
		}
		if q.Queues == 0 {
			q.Queues = DefaultQueues
		}
		if q.QueueLengthLimit == 0 {
			q.QueueLengthLimit = DefaultQueueLengthLimit
		}
	}
}
