package audit

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/auth"
)

// LoadPolicy reads and checks the Policy at path, with upstream's errors.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read file path %q: %w", path, err)
	}
	return ParsePolicy(data, path)
}

// ParsePolicy is LoadPolicy on the file's content; path names it in errors.
func ParsePolicy(data []byte, path string) (*Policy, error) {
	var p Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("failed decoding file %q: %w", path, err)
	}
	if p.APIVersion != GroupVersion || p.Kind != "Policy" {
		return nil, fmt.Errorf("failed decoding file %q: %s, Kind=%s is not %s, Kind=Policy", path, p.APIVersion, p.Kind, GroupVersion)
	}
	if errs := validatePolicy(&p); len(errs) > 0 {
		return nil, fmt.Errorf("loading audit policy file %q: %w", path, errs.ToAggregate())
	}
	if len(p.Rules) == 0 {
		return nil, fmt.Errorf("loaded illegal policy with 0 rules from file %s", path)
	}
	return &p, nil
}

var (
	levels = []string{string(LevelNone), string(LevelMetadata), string(LevelRequest), string(LevelRequestResponse)}
	stages = []string{string(StageRequestReceived), string(StageResponseStarted), string(StageResponseComplete), string(StagePanic)}
)

func validatePolicy(p *Policy) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateStages(p.OmitStages, field.NewPath("omitStages"))...)
	for i, r := range p.Rules {
		path := field.NewPath("rules").Index(i)
		if !slices.Contains(levels, string(r.Level)) {
			errs = append(errs, field.NotSupported(path.Child("level"), r.Level, levels))
		}
		errs = append(errs, validateStages(r.OmitStages, path.Child("omitStages"))...)
		if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
			errs = append(errs, field.Invalid(path.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		for j, u := range r.NonResourceURLs {
			if u == "*" {
				continue
			}
			if !strings.HasPrefix(u, "/") {
				errs = append(errs, field.Invalid(path.Child("nonResourceURLs").Index(j), u, "non-resource URL rules must begin with a '/' character"))
			}
			if i := strings.Index(u, "*"); i >= 0 && i != len(u)-1 {
				errs = append(errs, field.Invalid(path.Child("nonResourceURLs").Index(j), u, "non-resource URL wildcards '*' must be the final character of the rule"))
			}
		}
		for j, gr := range r.Resources {
			if len(gr.ResourceNames) > 0 && len(gr.Resources) == 0 {
				errs = append(errs, field.Invalid(path.Child("resources").Index(j).Child("resourceNames"), gr.ResourceNames, "using resourceNames requires at least one resource"))
			}
		}
	}
	return errs
}

func validateStages(ss []Stage, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range ss {
		if !slices.Contains(stages, string(s)) {
			errs = append(errs, field.NotSupported(path.Index(i), s, stages))
		}
	}
	return errs
}

// Decision is what the policy says of one request.
type Decision struct {
	Level             Level
	OmitStages        []Stage
	OmitManagedFields bool
}

// Evaluate returns the decision of the first rule that matches a; a
// request no rule matches is not recorded.
func (p *Policy) Evaluate(a auth.Attributes) Decision {
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.matches(a) {
			continue
		}
		d := Decision{Level: r.Level, OmitStages: append(slices.Clone(p.OmitStages), r.OmitStages...), OmitManagedFields: p.OmitManagedFields}
		if r.OmitManagedFields != nil {
			d.OmitManagedFields = *r.OmitManagedFields
		}
		return d
	}
	return Decision{Level: LevelNone}
}

func (r *PolicyRule) matches(a auth.Attributes) bool {
	if len(r.Users) > 0 && (a.User == nil || !slices.Contains(r.Users, a.User.Name)) {
		return false
	}
	if len(r.UserGroups) > 0 {
		if a.User == nil || !slices.ContainsFunc(a.User.Groups, func(g string) bool { return slices.Contains(r.UserGroups, g) }) {
			return false
		}
	}
	if len(r.Verbs) > 0 && !slices.Contains(r.Verbs, a.Verb) {
		return false
	}
	switch {
	case len(r.NonResourceURLs) > 0:
		return !a.ResourceRequest && r.matchesPath(a.Path)
	case len(r.Resources) > 0 || len(r.Namespaces) > 0:
		return a.ResourceRequest && r.matchesResource(a)
	}
	return true
}

func (r *PolicyRule) matchesPath(path string) bool {
	for _, u := range r.NonResourceURLs {
		if u == "*" || u == path || strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimSuffix(u, "*")) {
			return true
		}
	}
	return false
}

// matchesResource is upstream's: "" in namespaces is the cluster scope;
// a resource is "pods", "pods/log", "*", "*/log" or "pods/*".
func (r *PolicyRule) matchesResource(a auth.Attributes) bool {
	if len(r.Namespaces) > 0 && !slices.Contains(r.Namespaces, a.Namespace) {
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined += "/" + a.Subresource
	}
	for _, gr := range r.Resources {
		if gr.Group != a.APIGroup {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, a.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == combined || res == "*":
				return true
			case a.Subresource != "" && strings.HasPrefix(res, "*/") && strings.TrimPrefix(res, "*/") == a.Subresource:
				return true
			case strings.HasSuffix(res, "/*") && strings.TrimSuffix(res, "/*") == a.Resource:
				return true
			}
		}
	}
	return false
}
