package webhook

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var errNoNamespaces = errors.New("no namespace reader configured")

// denied is a webhook's refusal as the client sees it, with upstream's
// message and a status code of at least 400.
func denied(webhook string, result *metav1.Status) *apierrors.StatusError {
	prefix := fmt.Sprintf("admission webhook %q denied the request", webhook)
	st := metav1.Status{Status: metav1.StatusFailure}
	if result != nil {
		st = *result.DeepCopy()
	}
	if st.Code < http.StatusBadRequest {
		st.Code = http.StatusBadRequest
	}
	if st.Status == "" || st.Status == metav1.StatusSuccess {
		st.Status = metav1.StatusFailure
	}
	switch {
	case st.Message != "":
		st.Message = prefix + ": " + st.Message
	case st.Reason != "":
		st.Message = prefix + ": " + string(st.Reason)
	default:
		st.Message = prefix + " without explanation"
	}
	st.TypeMeta = metav1.TypeMeta{}
	return &apierrors.StatusError{ErrStatus: st}
}

// dryRunUnsupported refuses a dry run that would call a webhook with side
// effects.
func dryRunUnsupported(webhook string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("admission webhook %q does not support dry run", webhook))
}
