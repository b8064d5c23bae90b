package printers

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerCells returns the CONTAINERS and IMAGES cells of the -o wide
// columns of workloads: container names and images, each joined with
// commas in container order (empty strings when there are none).
func ContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	i := make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}
