package openapi

import (
	"context"
	"net/http/httptest"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/all"
)

// handMade are resources the tests serve whether or not their registry
// packages exist yet: they cover a status subresource, scale, action
// subresources (POST and PUT), cluster scope and a plural kind.
func handMade() []*registry.Resource {
	scale := &registry.Scale{
		Get: func(runtime.Object) (int32, int32, string) { return 0, 0, "" },
		Set: func(runtime.Object, int32) {},
	}
	action := func(newBody func() runtime.Object) *registry.Action {
		return &registry.Action{
			New:   newBody,
			Apply: func(context.Context, runtime.Object, runtime.Object) error { return nil },
		}
	}
	core := schema.GroupVersion{Version: "v1"}
	return []*registry.Resource{
		{
			GroupVersion: core, Resource: "pods", Kind: "Pod", Namespaced: true, HasStatus: true,
			New:     func() runtime.Object { return &corev1.Pod{} },
			NewList: func() runtime.Object { return &corev1.PodList{} },
			Actions: map[string]*registry.Action{
				"binding":  action(func() runtime.Object { return &corev1.Binding{} }),
				"eviction": action(func() runtime.Object { return &policyv1.Eviction{} }),
			},
		},
		{
			GroupVersion: core, Resource: "namespaces", Kind: "Namespace", HasStatus: true,
			New:     func() runtime.Object { return &corev1.Namespace{} },
			NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Actions: map[string]*registry.Action{
				"finalize": action(func() runtime.Object { return &corev1.Namespace{} }),
			},
		},
		{
			GroupVersion: core, Resource: "nodes", Kind: "Node", HasStatus: true,
			New:     func() runtime.Object { return &corev1.Node{} },
			NewList: func() runtime.Object { return &corev1.NodeList{} },
		},
		{
			GroupVersion: core, Resource: "endpoints", Kind: "Endpoints", Namespaced: true,
			New:     func() runtime.Object { return &corev1.Endpoints{} },
			NewList: func() runtime.Object { return &corev1.EndpointsList{} },
		},
		{
			GroupVersion: core, Resource: "services", Kind: "Service", Namespaced: true, HasStatus: true,
			New:     func() runtime.Object { return &corev1.Service{} },
			NewList: func() runtime.Object { return &corev1.ServiceList{} },
		},
		{
			GroupVersion: core, Resource: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true, HasStatus: true, Scale: scale,
			New:     func() runtime.Object { return &corev1.ReplicationController{} },
			NewList: func() runtime.Object { return &corev1.ReplicationControllerList{} },
		},
		{
			GroupVersion: appsv1.SchemeGroupVersion, Resource: "deployments", Kind: "Deployment", Namespaced: true, HasStatus: true, Scale: scale,
			New:     func() runtime.Object { return &appsv1.Deployment{} },
			NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
		},
		{
			GroupVersion: batchv1.SchemeGroupVersion, Resource: "jobs", Kind: "Job", Namespaced: true, HasStatus: true,
			New:     func() runtime.Object { return &batchv1.Job{} },
			NewList: func() runtime.Object { return &batchv1.JobList{} },
		},
		{
			GroupVersion: networkingv1.SchemeGroupVersion, Resource: "ingressclasses", Kind: "IngressClass",
			New:     func() runtime.Object { return &networkingv1.IngressClass{} },
			NewList: func() runtime.Object { return &networkingv1.IngressClassList{} },
		},
		{
			GroupVersion: authorizationv1.SchemeGroupVersion, Resource: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview",
			New:     func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} },
			NewList: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} },
		},
		{
			GroupVersion: authorizationv1.SchemeGroupVersion, Resource: "localsubjectaccessreviews", Kind: "LocalSubjectAccessReview", Namespaced: true,
			New:     func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} },
			NewList: func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} },
		},
		{
			GroupVersion: core, Resource: "componentstatuses", Kind: "ComponentStatus",
			New:     func() runtime.Object { return &corev1.ComponentStatus{} },
			NewList: func() runtime.Object { return &corev1.ComponentStatusList{} },
		},
		{
			GroupVersion: eventsv1.SchemeGroupVersion, Resource: "events", Kind: "Event", Namespaced: true,
			New:     func() runtime.Object { return &eventsv1.Event{} },
			NewList: func() runtime.Object { return &eventsv1.EventList{} },
		},
	}
}

// serviceAccountsWithToken has the token subresource (an action whose
// body is of another group, authentication.k8s.io).
func serviceAccountsWithToken() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Version: "v1"}, Resource: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true,
		New:     func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
		Actions: map[string]*registry.Action{"token": {
			New:   func() runtime.Object { return &authenticationv1.TokenRequest{} },
			Apply: func(context.Context, runtime.Object, runtime.Object) error { return nil },
		}},
	}
}

// testResources is every resource the registry has today and the
// hand-made ones it does not have yet. Docs serves the first of two
// entries for one resource, so the registry's win, except for
// serviceaccounts: the hand-made one, with its token, comes first.
func testResources() []*registry.Resource {
	rs := []*registry.Resource{serviceAccountsWithToken()}
	rs = append(rs, all.Resources()...)
	return append(rs, handMade()...)
}

// testServer serves the documents of testResources over plain HTTP.
func testServer(t testing.TB) (*httptest.Server, *Docs) {
	t.Helper()
	d := New(testResources())
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	return srv, d
}
