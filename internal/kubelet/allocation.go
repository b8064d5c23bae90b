package kubelet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// Allocation is what the kubelet has given a pod: each container's
// resources (init containers' too) by name, and the pod-level ones. A
// resize (pods/resize) changes the spec at once; the allocation follows
// it only when the node has room (DecideResize), and the containers run
// with the allocation, never with a spec the node has not accepted.
type Allocation struct {
	Containers map[string]corev1.ResourceRequirements `json:"containers,omitempty"`
	Pod        *corev1.ResourceRequirements           `json:"pod,omitempty"`
}

// allocationOf is the allocation a pod's spec asks for.
func allocationOf(pod *corev1.Pod) Allocation {
	a := Allocation{Containers: map[string]corev1.ResourceRequirements{}}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			a.Containers[list[i].Name] = *list[i].Resources.DeepCopy()
		}
	}
	if pod.Spec.Resources != nil {
		a.Pod = pod.Spec.Resources.DeepCopy()
	}
	return a
}

// Equal reports whether two allocations give the same resources.
func (a Allocation) Equal(b Allocation) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

// Apply is pod with the allocation's resources in place of the spec's:
// the pod the kubelet runs. pod itself is returned when they are the same.
func (a Allocation) Apply(pod *corev1.Pod) *corev1.Pod {
	if a.Containers == nil || a.Equal(allocationOf(pod)) {
		return pod
	}
	p := pod.DeepCopy()
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			if r, ok := a.Containers[list[i].Name]; ok {
				list[i].Resources = *r.DeepCopy()
			}
		}
	}
	p.Spec.Resources = a.Pod.DeepCopy()
	return p
}

// allocationFile is where a pod's allocation is kept across kubelet
// restarts: in the pod's directory, removed with it.
const allocationFile = "allocation.json"

// loadAllocation reads the allocation kept in the pod's directory; false
// when there is none.
func loadAllocation(podDir string) (Allocation, bool, error) {
	b, err := os.ReadFile(filepath.Join(podDir, allocationFile))
	if errors.Is(err, os.ErrNotExist) {
		return Allocation{}, false, nil
	}
	if err != nil {
		return Allocation{}, false, fmt.Errorf("read allocation: %w", err)
	}
	var a Allocation
	if err := json.Unmarshal(b, &a); err != nil {
		return Allocation{}, false, fmt.Errorf("read allocation %s: %w", filepath.Join(podDir, allocationFile), err)
	}
	return a, a.Containers != nil, nil
}

// saveAllocation keeps the allocation in the pod's directory.
func saveAllocation(podDir string, a Allocation) error {
	if err := savePodFile(podDir, allocationFile, a); err != nil {
		return fmt.Errorf("save allocation: %w", err)
	}
	return nil
}

// savePodFile writes v as JSON to the file name in the pod's directory,
// replaced whole (a crash leaves the old or the new one).
func savePodFile(podDir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(podDir, 0o750); err != nil {
		return err
	}
	tmp := filepath.Join(podDir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(podDir, name)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
