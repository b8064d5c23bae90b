package podspec

import (
	"path"
	"path/filepath"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The small format checks shared by the validators: each turns the
// messages of an apimachinery check into Invalid errors at one path.

func dnsLabel(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, validation.IsDNS1123Label(value))
}

func dnsSubdomain(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, validation.IsDNS1123Subdomain(value))
}

func qualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, validation.IsQualifiedName(value))
}

// objectName checks a reference to a secret, configmap, namespace or other
// object named by a DNS subdomain (prefix allows a trailing dash, as for
// generateName).
func objectName(value string, prefix bool, fldPath *field.Path) field.ErrorList {
	return invalidEach(fldPath, value, apimachineryvalidation.NameIsDNSSubdomain(value, prefix))
}

func invalidEach(fldPath *field.Path, value interface{}, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func nonNegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

func positive(value int64, fldPath *field.Path) field.ErrorList {
	if value <= 0 {
		return field.ErrorList{field.Invalid(fldPath, value, "must be greater than zero")}
	}
	return nil
}

// noBacksteps rejects paths with a ".." element.
func noBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(target), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

// localDescendingPath requires a relative path without "..".
func localDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, noBacksteps(target, fldPath)...)
}

// localNonReservedPath is localDescendingPath that also refuses a leading
// "..": the atomic writer keeps its own files under "..data".
func localNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := localDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}

func userID(user *int64, fldPath *field.Path) field.ErrorList {
	if user == nil {
		return nil
	}
	return invalidEach(fldPath, *user, validation.IsValidUserID(*user))
}

func groupID(group *int64, fldPath *field.Path) field.ErrorList {
	if group == nil {
		return nil
	}
	return invalidEach(fldPath, *group, validation.IsValidGroupID(*group))
}
