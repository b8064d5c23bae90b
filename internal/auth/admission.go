package auth

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Operations an admission plugin sees, as upstream names them.
const (
	Create = "CREATE"
	Update = "UPDATE"
	Delete = "DELETE"
	// Connect is a request that opens a stream or proxies (pods/exec,
	// attach, portforward, the proxies); its object is the options.
	Connect = "CONNECT"
)

// AdmissionRequest is one write an admission plugin checks: who writes,
// what, and the object before (Old, for updates and deletes) and after
// (Object, for creates and updates), after defaulting and validation.
type AdmissionRequest struct {
	User        *User
	Operation   string
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	Object      runtime.Object
	Old         runtime.Object

	// Version is the API version the request addressed and Kind the kind
	// of its object there (for a subresource, the kind it serves).
	Version string
	Kind    schema.GroupVersionKind
	// Namespaced is true when the resource lives in namespaces.
	Namespaced bool
	// DryRun is true when the write will not be stored.
	DryRun bool
	// Options are the request's CreateOptions, UpdateOptions (patches
	// too) or DeleteOptions.
	Options runtime.Object
	// Versions converts the objects to the other versions the server
	// serves of the resource, for webhooks that match one of those with
	// matchPolicy Equivalent; nil when it serves one version only.
	Versions Versions
}

// Versions are the versions a server serves of one resource.
type Versions interface {
	// Served lists them, the request's among them.
	Served() []string
	// Convert returns obj, in version from, in version to (a new object),
	// and the kind it has there.
	Convert(ctx context.Context, obj runtime.Object, from, to string) (runtime.Object, schema.GroupVersionKind, error)
	// Default applies version's defaults to obj, in that version, as a
	// write in that version would.
	Default(obj runtime.Object, version string)
}

// Admission is a validating admission plugin: a non-nil error (an API
// status error) refuses the write and nothing is stored.
type Admission interface {
	Admit(ctx context.Context, r *AdmissionRequest) error
}

// MutatingAdmission is a mutating admission plugin. It runs on a user's
// write after defaulting and before validation, and may change r.Object
// or replace it with another object of the same type (the caller reads
// r.Object back); a non-nil error (an API status error) refuses the write.
// On a delete r.Object is nil and there is nothing to change.
type MutatingAdmission interface {
	Mutate(ctx context.Context, r *AdmissionRequest) error
}

// Admissions runs plugins in order; the first refusal wins.
type Admissions []Admission

// Admit implements Admission.
func (as Admissions) Admit(ctx context.Context, r *AdmissionRequest) error {
	for _, a := range as {
		if err := a.Admit(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// userKey carries the user of a request in its context.
type userKey struct{}

// WithUser returns ctx carrying u, for what depends on who writes
// (admission, a CSR's requester).
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user WithUser put in ctx.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok && u != nil
}
