package apiextensions

import (
	"context"
	"fmt"
	"reflect"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	crdregistry "github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
)

func everything() labels.Selector { return labels.Everything() }

// name accepts the names a CRD asks for that no other CRD of its group
// holds, and establishes it once they are all accepted (upstream's naming
// and establishing controllers, in one status update).
func (c *Controller) name(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	if settled(crd) {
		return nil
	}
	resources, kinds, err := c.namesInGroup(crd)
	if err != nil {
		return err
	}
	names, accepted, established := namesAndConditions(crd, resources, kinds)
	if established.Status != apiextensionsv1.ConditionTrue && accepted.Status == apiextensionsv1.ConditionTrue {
		established = apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue,
			Reason: "InitialNamesAccepted", Message: "the initial names have been accepted",
		}
	}
	updated := crd.DeepCopy()
	updated.Status.AcceptedNames = names
	crdregistry.SetCondition(updated, accepted)
	crdregistry.SetCondition(updated, established)
	if reflect.DeepEqual(updated.Status, crd.Status) {
		return nil
	}
	_, err = c.client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// A newer version is on its way through the informer.
		return nil
	}
	return err
}

// settled reports a CRD that holds every name it asks for and is
// established: the naming decision would leave its status as it is,
// whatever the other CRDs of its group hold (names already accepted stay
// accepted), so it is skipped without listing them.
func settled(crd *apiextensionsv1.CustomResourceDefinition) bool {
	if !reflect.DeepEqual(crd.Spec.Names, crd.Status.AcceptedNames) {
		return false
	}
	accepted := crdregistry.Condition(crd, apiextensionsv1.NamesAccepted)
	established := crdregistry.Condition(crd, apiextensionsv1.Established)
	return accepted != nil && accepted.Status == apiextensionsv1.ConditionTrue && accepted.Reason == "NoConflicts" && accepted.Message == "no conflicts found" && !accepted.LastTransitionTime.IsZero() &&
		established != nil && established.Status == apiextensionsv1.ConditionTrue && !established.LastTransitionTime.IsZero()
}

// releasesNames reports whether going from the accepted names before to
// those after gives up a name another CRD of the group may be waiting for.
func releasesNames(before, after apiextensionsv1.CustomResourceDefinitionNames) bool {
	held := sets.New(after.Plural, after.Singular, after.Kind, after.ListKind)
	held.Insert(after.ShortNames...)
	for _, n := range append([]string{before.Plural, before.Singular, before.Kind, before.ListKind}, before.ShortNames...) {
		if n != "" && !held.Has(n) {
			return true
		}
	}
	return false
}

// namesInGroup returns the names the other CRDs of crd's group hold: their
// accepted plural, singular and short names, and kinds and list kinds.
func (c *Controller) namesInGroup(crd *apiextensionsv1.CustomResourceDefinition) (resources, kinds sets.Set[string], err error) {
	all, err := c.crds.List(everything())
	if err != nil {
		return nil, nil, err
	}
	resources, kinds = sets.New[string](), sets.New[string]()
	for _, other := range all {
		if other.Name == crd.Name || other.Spec.Group != crd.Spec.Group {
			continue
		}
		n := other.Status.AcceptedNames
		resources.Insert(n.Plural, n.Singular)
		resources.Insert(n.ShortNames...)
		kinds.Insert(n.Kind, n.ListKind)
	}
	resources.Delete("")
	kinds.Delete("")
	return resources, kinds, nil
}

// namesAndConditions is upstream's naming decision: every requested name
// no other CRD holds is accepted; a taken one keeps the name accepted
// before and sets NamesAccepted False with the conflict's reason.
func namesAndConditions(crd *apiextensionsv1.CustomResourceDefinition, resources, kinds sets.Set[string]) (apiextensionsv1.CustomResourceDefinitionNames, apiextensionsv1.CustomResourceDefinitionCondition, apiextensionsv1.CustomResourceDefinitionCondition) {
	requested, old := crd.Spec.Names, crd.Status.AcceptedNames
	names := old
	accepted := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionUnknown}
	conflict := func(reason string, err error) {
		accepted.Status, accepted.Reason, accepted.Message = apiextensionsv1.ConditionFalse, reason, err.Error()
	}
	if err := checkName(requested.Plural, old.Plural, resources); err != nil {
		conflict("PluralConflict", err)
	} else {
		names.Plural = requested.Plural
	}
	if err := checkName(requested.Singular, old.Singular, resources); err != nil {
		conflict("SingularConflict", err)
	} else {
		names.Singular = requested.Singular
	}
	if !reflect.DeepEqual(requested.ShortNames, old.ShortNames) {
		held := sets.New(old.ShortNames...)
		var errs []error
		for _, short := range requested.ShortNames {
			if held.Has(short) {
				continue
			}
			if err := checkName(short, "", resources); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			conflict("ShortNamesConflict", aggregate(errs))
		} else {
			names.ShortNames = requested.ShortNames
		}
	}
	if err := checkName(requested.Kind, old.Kind, kinds); err != nil {
		conflict("KindConflict", err)
	} else {
		names.Kind = requested.Kind
	}
	if err := checkName(requested.ListKind, old.ListKind, kinds); err != nil {
		conflict("ListKindConflict", err)
	} else {
		names.ListKind = requested.ListKind
	}
	names.Categories = requested.Categories
	if accepted.Status == apiextensionsv1.ConditionUnknown {
		accepted.Status, accepted.Reason, accepted.Message = apiextensionsv1.ConditionTrue, "NoConflicts", "no conflicts found"
	}
	established := apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse,
		Reason: "NotAccepted", Message: "not all names are accepted",
	}
	if old := crdregistry.Condition(crd, apiextensionsv1.Established); old != nil {
		established = *old
	}
	if established.Status != apiextensionsv1.ConditionTrue && accepted.Status == apiextensionsv1.ConditionTrue {
		established = apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse,
			Reason: "Installing", Message: "the initial names have been accepted",
		}
	}
	return names, accepted, established
}

func checkName(requested, accepted string, used sets.Set[string]) error {
	if requested == accepted || !used.Has(requested) {
		return nil
	}
	return fmt.Errorf("%q is already in use", requested)
}

// aggregate joins errors as upstream's utilerrors aggregate prints them.
func aggregate(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msg := "["
	for i, e := range errs {
		if i > 0 {
			msg += ", "
		}
		msg += e.Error()
	}
	return fmt.Errorf("%s]", msg)
}
