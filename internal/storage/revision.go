package storage

import (
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

func formatRV(rev int64) string { return strconv.FormatInt(rev, 10) }

// ParseRV parses a resourceVersion as the API server receives it: "" is 0.
func ParseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(rv, 10, 63)
	if err != nil {
		return 0, errInvalid("", "resourceVersion "+strconv.Quote(rv)+" is not a valid resource version")
	}
	return int64(n), nil
}

// ObjectRV returns obj's resourceVersion as a revision.
func ObjectRV(obj runtime.Object) int64 {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	return n
}
