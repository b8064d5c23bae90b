package workload

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NameWarnings warns, as upstream does on create, when a controller's name
// is a valid subdomain but not a DNS label: its pods' names and hostnames
// derive from it.
func NameWarnings(name string) []string {
	if msgs := validation.IsDNS1123Label(name); len(msgs) != 0 {
		return []string{fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs)}
	}
	return nil
}
