// Package apiservice serves apiregistration.k8s.io/v1 APIServices: the
// objects that say which server answers an API group version. A local
// one is served by this API server; one with a service is proxied to it
// (apiserver/aggregator*.go), and the availability controller
// (controller/apiregistration) reports in status whether it answers.
package apiservice

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// StoragePrefix is where APIServices live under /registry, as upstream
// keeps them.
const StoragePrefix = "apiregistration.k8s.io/apiservices"

// Resource returns the apiservices resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:   apiregistrationv1.SchemeGroupVersion,
		Resource:       "apiservices",
		Kind:           "APIService",
		SingularName:   "apiservice",
		Categories:     []string{"api-extensions"},
		StoragePrefix:  StoragePrefix,
		New:            func() runtime.Object { return &apiregistrationv1.APIService{} },
		NewList:        func() runtime.Object { return &apiregistrationv1.APIServiceList{} },
		NameValidation: path.ValidatePathSegmentName,
		HasStatus:      true,
		// Upstream's strategy refuses unconditional updates.
		RequireResourceVersion: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*apiregistrationv1.APIService)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				prepareForCreate(obj.(*apiregistrationv1.APIService))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*apiregistrationv1.APIService))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*apiregistrationv1.APIService))
			},
		},
		StatusHooks: registry.StatusHooks{
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(obj.(*apiregistrationv1.APIService))
			},
		},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				printers.NameColumn,
				{Name: "Service", Type: "string", Description: "The reference to the service that hosts this API endpoint."},
				{Name: "Available", Type: "string", Description: "Whether this service is available."},
				printers.AgeColumn,
			},
			Row: func(obj runtime.Object) ([]interface{}, error) {
				svc := obj.(*apiregistrationv1.APIService)
				return []interface{}{svc.Name, ServiceCell(svc), AvailableCell(svc), printers.Age(svc.CreationTimestamp)}, nil
			},
		},
	}
}

// Default sets the service port upstream's v1 defaulting sets (443).
func Default(svc *apiregistrationv1.APIService) {
	if s := svc.Spec.Service; s != nil && s.Port == nil {
		port := int32(443)
		s.Port = &port
	}
}

// prepareForCreate clears status and marks a local APIService Available
// at once, as upstream's strategy does.
func prepareForCreate(svc *apiregistrationv1.APIService) {
	svc.Status = apiregistrationv1.APIServiceStatus{}
	if svc.Spec.Service == nil {
		helper.SetAPIServiceCondition(svc, helper.NewLocalAvailableAPIServiceCondition())
	}
}

// ServiceCell is the SERVICE column: "Local" or namespace/name.
func ServiceCell(svc *apiregistrationv1.APIService) string {
	if svc.Spec.Service == nil {
		return "Local"
	}
	return svc.Spec.Service.Namespace + "/" + svc.Spec.Service.Name
}

// AvailableCell is the AVAILABLE column: True, or the status with its
// reason ("False (MissingEndpoints)"), or Unknown before any check.
func AvailableCell(svc *apiregistrationv1.APIService) string {
	c := helper.GetAPIServiceConditionByType(svc, apiregistrationv1.Available)
	switch {
	case c == nil:
		return string(apiregistrationv1.ConditionUnknown)
	case c.Status == apiregistrationv1.ConditionTrue || c.Reason == "":
		return string(c.Status)
	}
	return fmt.Sprintf("%s (%s)", c.Status, c.Reason)
}
