package apiserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestRequestTimeout(t *testing.T) {
	cases := []struct {
		timeout, verb string
		want          time.Duration
		wantErr       string
	}{
		{timeout: "", verb: "get", want: time.Minute},
		{timeout: "5s", verb: "get", want: 5 * time.Second},
		{timeout: "1m30s", verb: "list", want: time.Minute}, // capped at --request-timeout
		{timeout: "60s", verb: "update", want: time.Minute},
		{timeout: "0s", verb: "get", want: time.Minute}, // no wish: the server's
		{timeout: "-3s", verb: "get", want: time.Minute},
		{timeout: "", verb: "", want: time.Minute}, // not a resource request
		// Upstream's handlers bound single-object writes but update.
		{timeout: "", verb: "create", want: 34 * time.Second},
		{timeout: "50s", verb: "patch", want: 34 * time.Second},
		{timeout: "", verb: "delete", want: 34 * time.Second},
		{timeout: "10s", verb: "create", want: 10 * time.Second},
		{timeout: "", verb: "deletecollection", want: time.Minute},
		{timeout: "5", verb: "get", wantErr: `invalid timeout specified in the request URL - time: missing unit in duration "5"`},
		{timeout: "soon", verb: "create", wantErr: `invalid timeout specified in the request URL - time: invalid duration "soon"`},
	}
	for _, tc := range cases {
		t.Run(tc.verb+" "+tc.timeout, func(t *testing.T) {
			got, err := requestTimeout(tc.timeout, tc.verb, time.Minute)
			if tc.wantErr != "" {
				if !apierrors.IsBadRequest(err) || err.Error() != tc.wantErr {
					t.Fatalf("got %v, want 400 %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestIsLongRunning(t *testing.T) {
	cases := []struct {
		method, target string
		want           bool
	}{
		{"GET", "/api/v1/namespaces/d/pods?watch=true", true},
		{"GET", "/api/v1/watch/namespaces/d/pods", true},
		{"GET", "/apis/apps/v1/deployments?watch=1", true},
		{"GET", "/api/v1/namespaces/d/pods/p/log", true},
		{"GET", "/api/v1/namespaces/d/pods/p/log?follow=true", true},
		{"POST", "/api/v1/namespaces/d/pods/p/exec?command=ls", true},
		{"POST", "/api/v1/namespaces/d/pods/p/attach", true},
		{"POST", "/api/v1/namespaces/d/pods/p/portforward", true},
		{"GET", "/api/v1/nodes/n/proxy/stats/summary", true},
		{"GET", "/api/v1/namespaces/d/services/s:80/proxy/", true},
		{"GET", "/debug/pprof/profile?seconds=30", true},
		{"GET", "/api/v1/namespaces/d/pods", false},
		{"GET", "/api/v1/namespaces/d/pods?timeoutSeconds=600", false}, // a list, not a watch
		{"GET", "/api/v1/namespaces/d/pods/p", false},
		{"POST", "/api/v1/namespaces/d/configmaps", false},
		{"PUT", "/api/v1/namespaces/d/pods/p/status", false},
		{"PATCH", "/apis/apps/v1/namespaces/d/deployments/x/scale", false},
		{"DELETE", "/api/v1/namespaces/d/pods", false},
		{"POST", "/api/v1/namespaces/d/pods/p/eviction", false},
		{"GET", "/apis", false},
		{"GET", "/healthz", false},
		{"GET", "/debug/pprof/", true},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, http.NoBody)
			info, ok := parseResourcePath(r)
			infop := &info
			if !ok {
				infop = nil
			}
			if got := isLongRunning(r.URL.Path, infop); got != tc.want {
				t.Errorf("long-running %v, want %v (info %+v)", got, tc.want, info)
			}
		})
	}
}
