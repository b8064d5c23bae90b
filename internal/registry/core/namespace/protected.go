package namespace

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// checkDeletable refuses to delete the namespaces the system lives in, as
// upstream's NamespaceLifecycle admission does.
func checkDeletable(ns *corev1.Namespace) error {
	switch ns.Name {
	case "default", "kube-system", "kube-public":
		return apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, ns.Name,
			fmt.Errorf("this namespace may not be deleted"))
	}
	return nil
}
