package apiservice

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

func TestValidate(t *testing.T) {
	valid := func() *apiregistrationv1.APIService {
		port := int32(443)
		return &apiregistrationv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io"},
			Spec: apiregistrationv1.APIServiceSpec{
				Group: "metrics.k8s.io", Version: "v1beta1", GroupPriorityMinimum: 100, VersionPriority: 100,
				Service:               &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server", Port: &port},
				InsecureSkipTLSVerify: true,
			},
		}
	}
	cases := []struct {
		name   string
		modify func(*apiregistrationv1.APIService)
		want   []string // "field: detail" fragments, in order
	}{
		{name: "valid", modify: func(*apiregistrationv1.APIService) {}},
		{name: "local", modify: func(s *apiregistrationv1.APIService) {
			s.Spec.Service, s.Spec.InsecureSkipTLSVerify = nil, false
		}},
		{name: "name is not version.group", modify: func(s *apiregistrationv1.APIService) { s.Name = "metrics" },
			want: []string{"metadata.name: Invalid value: \"metrics\": must be `spec.version+\".\"+spec.group`: \"v1beta1.metrics.k8s.io\""}},
		{name: "priorities out of range", modify: func(s *apiregistrationv1.APIService) {
			s.Spec.GroupPriorityMinimum, s.Spec.VersionPriority = 0, 1001
		}, want: []string{"spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000", "spec.versionPriority: Invalid value: 1001: must be positive and less than 1000"}},
		{name: "caBundle and insecureSkipTLSVerify", modify: func(s *apiregistrationv1.APIService) { s.Spec.CABundle = []byte("x") },
			want: []string{"spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present"}},
		{name: "local with TLS settings", modify: func(s *apiregistrationv1.APIService) {
			s.Spec.Service, s.Spec.CABundle = nil, []byte("xyz")
		}, want: []string{`spec.caBundle: Invalid value: "3 bytes": local APIServices may not have a caBundle`, "spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify"}},
		{name: "service without namespace, name, port", modify: func(s *apiregistrationv1.APIService) {
			port := int32(0)
			s.Spec.Service = &apiregistrationv1.ServiceReference{Port: &port}
		}, want: []string{"spec.service.namespace: Required value", "spec.service.name: Required value", "spec.service.port: Invalid value: 0: port is not valid"}},
		{name: "empty group", modify: func(s *apiregistrationv1.APIService) { s.Spec.Group, s.Name = "", "v1beta1." },
			want: []string{"spec.group: Required value: only v1 may have an empty group and it better be legacy kube"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := valid()
			tc.modify(svc)
			errs := Validate(svc)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %d: %v", errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d %q, want %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestTableCells(t *testing.T) {
	svc := &apiregistrationv1.APIService{Spec: apiregistrationv1.APIServiceSpec{Service: &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server"}}}
	if got := ServiceCell(svc); got != "kube-system/metrics-server" {
		t.Errorf("service cell %q", got)
	}
	cases := []struct {
		conds []apiregistrationv1.APIServiceCondition
		want  string
	}{
		{nil, "Unknown"},
		{[]apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue, Reason: "Passed"}}, "True"},
		{[]apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionFalse, Reason: "MissingEndpoints"}}, "False (MissingEndpoints)"},
	}
	for _, tc := range cases {
		svc.Status.Conditions = tc.conds
		if got := AvailableCell(svc); got != tc.want {
			t.Errorf("available cell %q, want %q", got, tc.want)
		}
	}
	if got := ServiceCell(&apiregistrationv1.APIService{}); got != "Local" {
		t.Errorf("local service cell %q", got)
	}
}
