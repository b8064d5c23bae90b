package builtin

import (
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/admission"
	"github.com/kemudi/kemudi/internal/storage"
)

// Names are the built-in plugins, in upstream's order.
func Names() []string {
	return []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "Priority",
		"DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "RuntimeClass", "PodResizeValidator", "ResourceQuota"}
}

// New returns the built-in plugins (Names), reading objects from store's
// watch cache and charging quotas in store.
func New(store *storage.Store) []admission.Plugin {
	return []admission.Plugin{
		{Name: "NamespaceLifecycle", OwnWrites: true, Mutating: NamespaceLifecycle{
			Namespaces: NewStoreResource[*corev1.Namespace](store, namespacesGR),
		}},
		limitRanger(LimitRanger{LimitRanges: NewStoreResource[*corev1.LimitRange](store, schema.GroupResource{Resource: "limitranges"})}),
		{Name: "ServiceAccount", OwnWrites: true, Mutating: ServiceAccount{
			ServiceAccounts: NewStoreResource[*corev1.ServiceAccount](store, schema.GroupResource{Resource: "serviceaccounts"}),
		}},
		priority(Priority{Classes: NewStoreResource[*schedulingv1.PriorityClass](store, priorityClassesGR)}),
		{Name: "DefaultTolerationSeconds", OwnWrites: true, Mutating: DefaultTolerationSeconds{}},
		{Name: "DefaultStorageClass", OwnWrites: true, Mutating: DefaultStorageClass{
			Classes: NewStoreResource[*storagev1.StorageClass](store, storageClassesGR),
		}},
		{Name: "StorageObjectInUseProtection", OwnWrites: true, Mutating: StorageObjectInUseProtection{}},
		{Name: "PersistentVolumeClaimResize", OwnWrites: true, Validating: PersistentVolumeClaimResize{
			Classes: NewStoreResource[*storagev1.StorageClass](store, storageClassesGR),
		}},
		runtimeClass(RuntimeClass{Classes: NewStoreResource[*nodev1.RuntimeClass](store, runtimeClassesGR)}),
		{Name: "PodResizeValidator", OwnWrites: true, Validating: PodResizeValidator{
			Nodes: NewStoreResource[*corev1.Node](store, schema.GroupResource{Resource: "nodes"}),
		}},
		{Name: "ResourceQuota", OwnWrites: true, Validating: ResourceQuota{
			Quotas: NewStoreResource[*corev1.ResourceQuota](store, schema.GroupResource{Resource: "resourcequotas"}),
		}},
	}
}

func limitRanger(p LimitRanger) admission.Plugin {
	return admission.Plugin{Name: "LimitRanger", OwnWrites: true, Mutating: p, Validating: p}
}

func priority(p Priority) admission.Plugin {
	return admission.Plugin{Name: "Priority", OwnWrites: true, Mutating: p, Validating: p}
}

func runtimeClass(p RuntimeClass) admission.Plugin {
	return admission.Plugin{Name: "RuntimeClass", OwnWrites: true, Mutating: p, Validating: p}
}
