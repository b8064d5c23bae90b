package pod

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Warnings returns the warnings upstream sends back when a pod is
// created: a name that is not a DNS label (it becomes the hostname) and
// the spec warnings shared with templates.
func Warnings(pod *corev1.Pod) []string {
	var w []string
	if msgs := validation.IsDNS1123Label(pod.Name); len(msgs) != 0 {
		w = append(w, fmt.Sprintf("metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: %v", msgs))
	}
	// The AppArmor annotations a create would copy into the fields.
	w = append(w, syncAppArmor(pod.DeepCopy())...)
	return append(w, podspec.Warnings(nil, &pod.ObjectMeta, &pod.Spec)...)
}
