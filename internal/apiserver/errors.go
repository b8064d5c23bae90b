package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/storage"
)

// statusFor turns any error into the API status a client gets: API errors
// pass through, storage errors become their Kubernetes equivalents for the
// resource and name at hand, anything else is a 500.
func statusFor(err error, gr schema.GroupResource, name string) *apierrors.StatusError {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return se
	}
	var ste *storage.Error
	if errors.As(err, &ste) {
		switch ste.Code {
		case storage.CodeNotFound:
			return apierrors.NewNotFound(gr, name)
		case storage.CodeExists:
			return apierrors.NewAlreadyExists(gr, name)
		case storage.CodeConflict:
			return apierrors.NewConflict(gr, name, errors.New(ste.Msg))
		case storage.CodeExpired:
			return apierrors.NewResourceExpired(ste.Msg)
		case storage.CodeInvalid:
			return apierrors.NewBadRequest(ste.Msg)
		case storage.CodeTimeout:
			return apierrors.NewTimeoutError(ste.Msg, 1)
		}
	}
	if errors.Is(err, context.Canceled) || grpcstatus.Code(err) == codes.Canceled {
		// The client went away; nobody reads this answer, and it is not
		// the server's fault.
		return apierrors.NewTimeoutError("the request was cancelled by the client", 0)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apierrors.NewTimeoutError(fmt.Sprintf("request did not complete in time: %v", err), 0)
	}
	return apierrors.NewInternalError(err)
}

// conflictModified is upstream's message for a stale resourceVersion.
func conflictModified(gr schema.GroupResource, name string) *apierrors.StatusError {
	return apierrors.NewConflict(gr, name, errors.New(optimisticLockMsg))
}

func unsupportedMediaType(contentType string) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", contentType),
	}}
}

// unsupportedPatchType is upstream's 415 for a strategic merge patch of a
// custom resource.
func unsupportedPatchType() *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
	}}
}

func notAcceptable() *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotAcceptable,
		Reason:  metav1.StatusReasonNotAcceptable,
		Message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
	}}
}

func methodNotSupported(gr schema.GroupResource, verb string) *apierrors.StatusError {
	return apierrors.NewMethodNotSupported(gr, verb)
}

// optimisticLockMsg is what upstream says when an update carries a stale
// resourceVersion; clients (kubectl, client-go's retry helpers) match on it.
const optimisticLockMsg = "the object has been modified; please apply your changes to the latest version and try again"
