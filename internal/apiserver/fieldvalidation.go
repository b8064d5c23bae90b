package apiserver

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// strictOutcome decides what strict decoding errors (unknown and
// duplicate fields) do under a fieldValidation directive, as upstream:
// Strict refuses the request with all of them in one 400, Warn returns a
// warning each (a YAML error's lines apart), Ignore drops them.
func strictOutcome(validation string, errs []error) ([]string, error) {
	if len(errs) == 0 {
		return nil, nil
	}
	switch validation {
	case metav1.FieldValidationStrict:
		return nil, apierrors.NewBadRequest(runtime.NewStrictDecodingError(errs).Error())
	case metav1.FieldValidationWarn:
		var warnings []string
		for _, e := range errs {
			warnings = append(warnings, yamlErrorLines(e.Error())...)
		}
		return warnings, nil
	}
	return nil, nil
}

// yamlErrorLines splits a YAML decoder's strict error ("yaml: unmarshal
// errors:\n  line 6: key "name" already set in map\n ...") into its
// lines, as upstream warns of each; other errors are one line.
func yamlErrorLines(msg string) []string {
	rest, ok := strings.CutPrefix(msg, "yaml: unmarshal errors:\n")
	if !ok {
		if rest, ok = strings.CutPrefix(msg, "error converting YAML to JSON: yaml: unmarshal errors:\n"); !ok {
			return []string{msg}
		}
	}
	lines := strings.Split(rest, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}

// jsonPatchOp is what a JSON patch operation may hold, for upstream's
// strict check of the operations themselves.
type jsonPatchOp struct {
	Op    string      `json:"op"`
	Path  string      `json:"path"`
	From  string      `json:"from"`
	Value interface{} `json:"value"`
}

// patchBodyStrictErrors are the duplicate fields of a JSON, merge or
// strategic merge patch body, and the unknown and duplicate fields of a
// JSON patch's operations (`json patch unknown field "[0].foo"`), which
// upstream reports besides those of the patched object. A malformed body
// has none here: applying it reports it.
func patchBodyStrictErrors(pt types.PatchType, patch []byte) []error {
	switch pt {
	case types.JSONPatchType:
		var ops []jsonPatchOp
		errs, err := kjson.UnmarshalStrict(patch, &ops)
		if err != nil {
			return nil
		}
		for i, e := range errs {
			errs[i] = fmt.Errorf("json patch %v", e)
		}
		return errs
	case types.MergePatchType, types.StrategicMergePatchType:
		var m map[string]interface{}
		errs, err := kjson.UnmarshalStrict(patch, &m)
		if err != nil {
			return nil
		}
		return errs
	}
	return nil
}

// applyBodyStrict checks a server-side apply body for duplicate fields,
// as upstream does after the apply: Strict refuses it ("error strict
// decoding patch: ..."), Warn warns of each, Ignore does not look.
func applyBodyStrict(validation string, body []byte) ([]string, error) {
	if validation == metav1.FieldValidationIgnore {
		return nil, nil
	}
	err := yaml.UnmarshalStrict(body, &map[string]interface{}{})
	if err == nil {
		return nil, nil
	}
	if validation == metav1.FieldValidationStrict {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding patch: %v", err))
	}
	return yamlErrorLines(err.Error()), nil
}
