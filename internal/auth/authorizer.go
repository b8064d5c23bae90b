package auth

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
)

// Attributes are what a request asks to do, as upstream's authorizer
// sees it: a verb on a resource (group, resource, subresource, namespace,
// name) or on a non-resource path.
type Attributes struct {
	User *User
	// Verb is the Kubernetes verb (get, list, watch, create, update,
	// patch, delete, deletecollection, or impersonate, bind, escalate,
	// ...) for resource requests, the lower-case HTTP method for others.
	Verb string

	ResourceRequest bool
	APIGroup        string
	APIVersion      string
	Resource        string
	Subresource     string
	Namespace       string
	Name            string

	// FieldSelector is a list or watch's field selector, parsed (nil
	// without one), for authorizers that allow a list scoped to a field
	// (the Node authorizer: pods with spec.nodeName=<the node>).
	FieldSelector fields.Requirements

	// Path is the URL path of a non-resource request.
	Path string
}

// Decision is an authorizer's answer.
type Decision int

const (
	// NoOpinion lets the next authorizer decide; refused if none allows.
	NoOpinion Decision = iota
	// Allow allows the request.
	Allow
	// Deny refuses it without asking the authorizers after this one.
	Deny
)

// Authorizer decides whether a request may proceed. reason says why, for
// the refusal message and review APIs' status.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (d Decision, reason string, err error)
}

// RuleResolver lists what a user may do in a namespace, for
// SelfSubjectRulesReview and `kubectl auth can-i --list`.
type RuleResolver interface {
	RulesFor(ctx context.Context, u *User, namespace string) (resource []ResourceRule, nonResource []NonResourceRule, incomplete bool, err error)
}

// ResourceRule and NonResourceRule are one rule of what a user may do.
type ResourceRule struct {
	Verbs, APIGroups, Resources, ResourceNames []string
}

// NonResourceRule allows verbs on non-resource URLs.
type NonResourceRule struct {
	Verbs, NonResourceURLs []string
}

// Union asks each authorizer in turn; the first that allows or denies
// decides (upstream's --authorization-mode list).
type Union []Authorizer

// Authorize implements Authorizer.
func (u Union) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	var reasons []string
	var errs []error
	for _, z := range u {
		d, reason, err := z.Authorize(ctx, a)
		if err != nil {
			errs = append(errs, err)
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
		if d != NoOpinion {
			return d, reason, nil
		}
	}
	var err error
	if len(errs) > 0 {
		err = fmt.Errorf("authorize: %v", errs)
	}
	return NoOpinion, strings.Join(reasons, "\n"), err
}

// AlwaysAllow allows every request (--authorization-mode=AlwaysAllow).
type AlwaysAllow struct{}

// Authorize implements Authorizer.
func (AlwaysAllow) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Allow, "", nil
}

// Masters allows every request of the system:masters group, as upstream's
// privileged-group authorizer that runs before all others.
type Masters struct{}

// Authorize implements Authorizer.
func (Masters) Authorize(_ context.Context, a Attributes) (Decision, string, error) {
	if a.User.InGroup(SystemMasters) {
		return Allow, "", nil
	}
	return NoOpinion, "", nil
}
