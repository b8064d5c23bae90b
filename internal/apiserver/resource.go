package apiserver

import (
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// maxBodyBytes is upstream's limit on a request body (3 MiB).
const maxBodyBytes = 3 * 1024 * 1024

// serveResource runs the verb a resource request asks for.
func (s *Server) serveResource(rq *request) {
	info, ep := rq.info, rq.ep
	if ep.Namespaced != (info.Namespace != "") && !(ep.Namespaced && info.Name == "" && (info.Verb == "list" || info.Verb == "watch")) {
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
		return
	}
	if ep.Deprecated != "" {
		warn(rq.w, []string{ep.Deprecated})
	}
	switch info.Subresource {
	case "":
		s.serveMain(rq)
	case "status":
		s.serveStatus(rq)
	case "scale":
		s.serveScale(rq)
	case "log", "exec", "attach", "portforward", "proxy":
		s.serveConnect(rq)
	default:
		if _, ok := ep.StatusLike[info.Subresource]; ok {
			s.serveStatus(rq)
			return
		}
		s.serveAction(rq)
	}
}

func (s *Server) serveMain(rq *request) {
	switch rq.info.Verb {
	case "get":
		s.get(rq)
	case "list":
		s.list(rq)
	case "watch":
		s.watch(rq)
	case "create":
		s.create(rq)
	case "update":
		s.update(rq)
	case "patch":
		s.patch(rq)
	case "delete":
		s.delete(rq)
	case "deletecollection":
		s.deleteCollection(rq)
	default:
		s.writeError(rq.w, rq.out, methodNotSupported(rq.ep.groupResource(), rq.r.Method))
	}
}

// fail writes err as the status for this request's resource and name.
func (s *Server) fail(rq *request, err error) {
	s.writeError(rq.w, rq.out, statusFor(err, rq.ep.groupResource(), rq.info.Name))
}

// readBody reads a request body up to upstream's size limit (413 past it).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	return data, nil
}

// fieldValidation reads the fieldValidation parameter (default Warn).
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return metav1.FieldValidationWarn, nil
	case metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict:
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %q. Supported values: %q, %q, %q", v, metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict))
}

// decodeBody decodes a create or update body into the kind want, applying
// the request's field validation. It returns warnings for unknown or
// duplicate fields under fieldValidation=Warn.
func (s *Server) decodeBody(rq *request, want schema.GroupVersionKind, into runtime.Object) (runtime.Object, []string, error) {
	validation, err := fieldValidation(rq.r)
	if err != nil {
		return nil, nil, err
	}
	data, err := readBody(rq.r)
	if err != nil {
		return nil, nil, err
	}
	contentType := rq.r.Header.Get("Content-Type")
	dec, ok := s.serializers.decoder(contentType, validation != metav1.FieldValidationIgnore)
	if !ok {
		return nil, nil, unsupportedMediaType(contentType)
	}
	if len(data) == 0 {
		return nil, nil, apierrors.NewBadRequest("the request body is empty")
	}
	if err := s.checkBodyQuantities(data, contentType, want, into); err != nil {
		return nil, nil, err
	}
	obj, gvk, err := dec.Decode(data, &want, into)
	var strictErrs []error
	if err != nil {
		strict, ok := runtime.AsStrictDecodingError(err)
		if !ok {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		strictErrs = strict.Errors()
	}
	if validation != metav1.FieldValidationIgnore && gvk != nil && want == rq.ep.gvk {
		strictErrs = append(strictErrs, unknownFieldErrors(rq.ep, *gvk, obj)...)
	}
	warnings, err := strictOutcome(validation, strictErrs)
	if err != nil {
		return nil, nil, err
	}
	if gvk.GroupVersion() != want.GroupVersion() {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), want.GroupVersion()))
	}
	if gvk.Kind != want.Kind {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", gvk.Kind, want.Kind))
	}
	obj.GetObjectKind().SetGroupVersionKind(want)
	return obj, warnings, nil
}

// warn adds Warning headers as upstream sends them.
func warn(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", msg))
	}
}

// dryRun reports whether the request asked for dryRun=All; any other value
// is a 400.
func dryRun(r *http.Request) (bool, error) {
	values := r.URL.Query()["dryRun"]
	for _, v := range values {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value %q: only %q is supported", v, metav1.DryRunAll))
		}
	}
	return len(values) > 0, nil
}
