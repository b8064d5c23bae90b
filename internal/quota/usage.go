package quota

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	resourcehelper "k8s.io/component-helpers/resource"
)

// CountName is the object count resource of a group resource:
// count/<resource> for the core group, count/<resource>.<group> else.
func CountName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

var one = *resource.NewQuantity(1, resource.DecimalSI)

// Usage is what an object of group resource gr uses of quota resources.
// now decides whether a pod stuck terminating still counts.
func Usage(gr schema.GroupResource, obj interface{}, now time.Time) corev1.ResourceList {
	out := corev1.ResourceList{CountName(gr): one.DeepCopy()}
	if gr.Group != "" {
		return out
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		addAll(out, PodUsage(o, now))
	case *corev1.Service:
		addAll(out, serviceUsage(o))
	case *corev1.PersistentVolumeClaim:
		addAll(out, pvcUsage(o))
	case *corev1.ConfigMap:
		out[corev1.ResourceConfigMaps] = one.DeepCopy()
	case *corev1.Secret:
		out[corev1.ResourceSecrets] = one.DeepCopy()
	case *corev1.ReplicationController:
		out[corev1.ResourceReplicationControllers] = one.DeepCopy()
	case *corev1.ResourceQuota:
		out[corev1.ResourceQuotas] = one.DeepCopy()
	}
	return out
}

// PodCounts reports whether a pod is charged compute resources: not
// finished, and not stuck terminating past its grace period.
func PodCounts(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil &&
		now.After(pod.DeletionTimestamp.Add(time.Duration(*pod.DeletionGracePeriodSeconds)*time.Second)) {
		return false
	}
	return true
}

// PodUsage is a live pod's compute usage: pods, requests.* and limits.*
// (cpu and memory also under their bare names), hugepages and extended
// resources as requests. A container being resized in place counts for
// the larger of what its spec asks and what it has (its status), as
// upstream's.
func PodUsage(pod *corev1.Pod, now time.Time) corev1.ResourceList {
	if !PodCounts(pod, now) {
		return corev1.ResourceList{}
	}
	opts := resourcehelper.PodResourcesOptions{UseStatusResources: true}
	return podComputeUsage(resourcehelper.PodRequests(pod, opts), resourcehelper.PodLimits(pod, opts))
}

func podComputeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: one.DeepCopy()}
	for _, r := range []struct{ name, req, lim corev1.ResourceName }{
		{corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	} {
		if q, ok := requests[r.name]; ok {
			out[r.name] = q.DeepCopy()
			out[r.req] = q.DeepCopy()
		}
		if q, ok := limits[r.name]; ok {
			out[r.lim] = q.DeepCopy()
		}
	}
	for name, q := range requests {
		switch {
		case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
			out[name] = q.DeepCopy()
			out[corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(name))] = q.DeepCopy()
		case isExtended(name):
			out[corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(name))] = q.DeepCopy()
		}
	}
	return out
}

// isExtended reports an extended resource name (domain-qualified, not
// kubernetes.io/).
func isExtended(name corev1.ResourceName) bool {
	s := string(name)
	return strings.Contains(s, "/") && !strings.HasPrefix(s, corev1.ResourceDefaultNamespacePrefix) && !strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix)
}

func serviceUsage(svc *corev1.Service) corev1.ResourceList {
	out := corev1.ResourceList{
		corev1.ResourceServices:              one.DeepCopy(),
		corev1.ResourceServicesLoadBalancers: resource.Quantity{Format: resource.DecimalSI},
		corev1.ResourceServicesNodePorts:     resource.Quantity{Format: resource.DecimalSI},
	}
	ports := int64(len(svc.Spec.Ports))
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case corev1.ServiceTypeLoadBalancer:
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
			n := int64(0)
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					n++
				}
			}
			ports = n
		}
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
		out[corev1.ResourceServicesLoadBalancers] = one.DeepCopy()
	}
	return out
}

// storageClassSuffix joins a storage class and a resource in the
// per-class quota names (gold.storageclass.storage.k8s.io/requests.storage).
const storageClassSuffix = ".storageclass.storage.k8s.io/"

func pvcUsage(pvc *corev1.PersistentVolumeClaim) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePersistentVolumeClaims: one.DeepCopy()}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	} else if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	if class != "" {
		out[corev1.ResourceName(class+storageClassSuffix+string(corev1.ResourcePersistentVolumeClaims))] = one.DeepCopy()
	}
	storage, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return out
	}
	// A claim being resized is charged the larger of request and allocation.
	if alloc, ok := pvc.Status.AllocatedResources[corev1.ResourceStorage]; ok && alloc.Cmp(storage) > 0 {
		storage = alloc
	}
	out[corev1.ResourceRequestsStorage] = storage.DeepCopy()
	if class != "" {
		out[corev1.ResourceName(class+storageClassSuffix+string(corev1.ResourceRequestsStorage))] = storage.DeepCopy()
	}
	return out
}

func addAll(dst, src corev1.ResourceList) {
	for k, v := range src {
		if cur, ok := dst[k]; ok {
			cur.Add(v)
			dst[k] = cur
		} else {
			dst[k] = v.DeepCopy()
		}
	}
}

// Add returns a + b.
func Add(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	addAll(out, a)
	addAll(out, b)
	return out
}

// Subtract returns a - b (keys of a only).
func Subtract(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range a {
		q := v.DeepCopy()
		if s, ok := b[k]; ok {
			q.Sub(s)
		}
		out[k] = q
	}
	return out
}

// Growth returns what now uses beyond before: a - b where it is positive.
func Growth(now, before corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, q := range Subtract(now, before) {
		if q.Sign() > 0 {
			out[k] = q
		}
	}
	return out
}

// Mask returns the entries of l whose names are in names.
func Mask(l corev1.ResourceList, names []corev1.ResourceName) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, n := range names {
		if q, ok := l[n]; ok {
			out[n] = q.DeepCopy()
		}
	}
	return out
}

// Names returns the resource names of l.
func Names(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	return out
}
