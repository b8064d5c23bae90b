package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// maxJSONPatchOperations is upstream's cap on operations in one JSON patch.
const maxJSONPatchOperations = 10000

func (s *Server) patch(rq *request) {
	s.patchSubresource(rq, "")
}

// patchSubresource patches the main resource ("") or its status.
func (s *Server) patchSubresource(rq *request, subresource string) {
	ctx := rq.ctx()
	contentType := rq.r.Header.Get("Content-Type")
	patchType, _, _ := mime.ParseMediaType(contentType)
	switch types.PatchType(patchType) {
	case types.StrategicMergePatchType:
		if rq.ep.custom != nil {
			// A custom resource has no Go type to read patch
			// strategies from: upstream takes no strategic merge.
			s.fail(rq, unsupportedPatchType())
			return
		}
	case types.JSONPatchType, types.MergePatchType, types.ApplyYAMLPatchType:
	default:
		s.fail(rq, unsupportedMediaType(contentType))
		return
	}
	dry, err := dryRun(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	validation, err := fieldValidation(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	manager, err := managerName(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	body, err := readBody(rq.r)
	if err != nil {
		s.fail(rq, err)
		return
	}
	if types.PatchType(patchType) == types.ApplyYAMLPatchType {
		s.apply(rq, subresource, body, manager, dry)
		return
	}
	var warnings []string
	compute := func(current runtime.Object) (runtime.Object, error) {
		obj, w, err := s.applyPatch(rq.ep, types.PatchType(patchType), body, current, rq.ep.New(), rq.ep.gvk, validation)
		if err != nil {
			return nil, err
		}
		warnings = w
		return obj, checkIdentity(rq, obj)
	}
	var kindWarnings []string
	result, _, err := s.updateObject(ctx, rq.ep, rq.info.Namespace, rq.info.Name, updateSpec{
		compute: compute, status: subresource != "", subresource: subresource, dryRun: dry, manager: manager, warnings: &kindWarnings,
	})
	if err != nil {
		s.fail(rq, err)
		return
	}
	warn(rq.w, warnings)
	warn(rq.w, kindWarnings)
	s.writeResult(rq, http.StatusOK, result)
}

// applyPatch applies a JSON, merge or strategic merge patch to current and
// decodes the result into into, a new object of kind gvk.
// A custom object (ep a CRD's endpoint, gvk its kind) is pruned as
// decoded, its unknown fields reported under validation.
func (s *Server) applyPatch(ep *endpoint, pt types.PatchType, patch []byte, current, into runtime.Object, gvk schema.GroupVersionKind, validation string) (runtime.Object, []string, error) {
	var buf bytes.Buffer
	if err := s.serializers.json.Encode(current, &buf); err != nil {
		return nil, nil, err
	}
	original := buf.Bytes()
	var patched []byte
	var err error
	switch pt {
	case types.JSONPatchType:
		p, derr := jsonpatch.DecodePatch(patch)
		if derr != nil {
			return nil, nil, apierrors.NewBadRequest(derr.Error())
		}
		if len(p) > maxJSONPatchOperations {
			return nil, nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d", maxJSONPatchOperations, len(p)))
		}
		patched, err = p.Apply(original)
		if err != nil {
			// Upstream's status (422) and message, with what failed as
			// its cause: upstream drops it, and the client is left with
			// no clue.
			se := apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
			se.ErrStatus.Message += ": " + err.Error()
			se.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeFieldValueInvalid, Message: err.Error()}}
			return nil, nil, se
		}
	case types.MergePatchType:
		patched, err = jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(original, patch, into)
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
	}
	if err := checkQuantities(patched, false, s.scheme, gvk, into); err != nil {
		return nil, nil, err
	}
	dec, _ := s.serializers.decoder(mediaJSON, validation != metav1.FieldValidationIgnore)
	obj, got, err := dec.Decode(patched, &gvk, into)
	var strictErrs []error
	if err != nil {
		strict, ok := runtime.AsStrictDecodingError(err)
		if !ok {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		strictErrs = strict.Errors()
	}
	if got != nil && (got.GroupVersion() != gvk.GroupVersion() || got.Kind != gvk.Kind) {
		// A patch may not turn the object into another kind.
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version and kind in the patched object (%s, %s) do not match the expected ones (%s, %s)", got.GroupVersion(), got.Kind, gvk.GroupVersion(), gvk.Kind))
	}
	if validation != metav1.FieldValidationIgnore {
		// The patch's own duplicates first, then the patched object's
		// unknown fields, as upstream lists them.
		strictErrs = append(patchBodyStrictErrors(pt, patch), strictErrs...)
		if ep != nil {
			strictErrs = append(strictErrs, unknownFieldErrors(ep, gvk, obj)...)
		}
	}
	warnings, err := strictOutcome(validation, strictErrs)
	if err != nil {
		return nil, nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, warnings, nil
}

// checkIdentity refuses a patch that renamed or moved the object.
func checkIdentity(rq *request, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetName() != rq.info.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), rq.info.Name))
	}
	if rq.ep.Namespaced && m.GetNamespace() != rq.info.Namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// apply is server-side apply: the body is the manager's whole intent; the
// field manager merges it with what others own, or reports conflicts.
func (s *Server) apply(rq *request, subresource string, body []byte, manager string, dry bool) {
	if rq.r.URL.Query().Get("fieldManager") == "" {
		s.fail(rq, apierrors.NewBadRequest("PATCH "+rq.r.URL.Path+": fieldManager is required for apply requests"))
		return
	}
	force := rq.r.URL.Query().Get("force") == "true"
	// Integers decode as int64, not float64: a custom object is what the
	// field manager makes of this patch, and its schema checks types.
	applied := &unstructured.Unstructured{}
	js, err := yaml.YAMLToJSON(body)
	if err == nil {
		err = utiljson.Unmarshal(js, &applied.Object)
	}
	if err != nil {
		s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	if applied.Object == nil {
		s.fail(rq, apierrors.NewBadRequest("the apply patch is empty"))
		return
	}
	if err := checkQuantities(body, true, s.scheme, rq.ep.gvk, rq.ep.New()); err != nil {
		s.fail(rq, err)
		return
	}
	if gvk := applied.GroupVersionKind(); gvk != rq.ep.gvk {
		s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", applied.GetAPIVersion(), rq.ep.gvk.GroupVersion())))
		return
	}
	if applied.GetName() != "" && applied.GetName() != rq.info.Name {
		s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", applied.GetName(), rq.info.Name)))
		return
	}
	fm, err := s.fields.forEndpoint(rq.ctx(), rq.ep, subresource, s.viewsOf)
	if err != nil {
		s.fail(rq, err)
		return
	}
	ctx := rq.ctx()
	// Duplicate fields of the body count once the apply succeeded, as
	// upstream checks them.
	validation, _ := fieldValidation(rq.r)
	dupWarnings, dupErr := applyBodyStrict(validation, body)
	compute := func(current runtime.Object) (runtime.Object, error) {
		obj, err := fm.Apply(current, applied, manager, force)
		if err == nil && dupErr != nil {
			return nil, dupErr
		}
		return obj, applyError(err)
	}
	result, _, err := s.updateObject(ctx, rq.ep, rq.info.Namespace, rq.info.Name, updateSpec{
		compute: compute, status: subresource == "status", dryRun: dry, manager: manager, applied: true,
	})
	if apierrors.IsNotFound(err) && subresource == "" {
		// Apply creates what does not exist yet.
		empty := rq.ep.New()
		empty.GetObjectKind().SetGroupVersionKind(rq.ep.gvk)
		obj, aerr := fm.Apply(empty, applied, manager, force)
		if aerr == nil && dupErr != nil {
			aerr = dupErr
		}
		if aerr != nil {
			s.fail(rq, applyError(aerr))
			return
		}
		m, _ := meta.Accessor(obj)
		m.SetName(rq.info.Name)
		if rq.ep.Namespaced {
			m.SetNamespace(rq.info.Namespace)
		}
		created, cerr := s.createObject(ctx, rq.ep, obj, dry, "")
		if cerr != nil {
			s.fail(rq, cerr)
			return
		}
		warn(rq.w, dupWarnings)
		s.writeResult(rq, http.StatusCreated, created)
		return
	}
	if err != nil {
		s.fail(rq, err)
		return
	}
	warn(rq.w, dupWarnings)
	s.writeResult(rq, http.StatusOK, result)
}

// applyError is the status of a failed apply. The field manager reports
// an applied object that does not fit its kind's schema (a field of the
// wrong type, duplicate keys in a keyed list) as a plain error, which
// upstream answers with a 500 (kubernetes/kubernetes#139253); the fault
// is the request's: 400.
func applyError(err error) error {
	if err == nil {
		return nil
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return err
	}
	return apierrors.NewBadRequest(err.Error())
}
