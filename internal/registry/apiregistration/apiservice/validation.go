package apiservice

import (
	"context"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/validation"
)

// Validate checks an APIService with upstream's rules and messages: the
// name is version.group, group and version are DNS names, the priorities
// are in range, a service has a namespace, name and valid port, a local
// one has neither caBundle nor insecureSkipTLSVerify, and the two TLS
// settings exclude each other. The generic ObjectMeta validation does the
// rest of metadata.
func Validate(svc *apiregistrationv1.APIService) field.ErrorList {
	in, err := toInternal(svc)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return withoutGenericMeta(validation.ValidateAPIService(context.Background(), in))
}

// ValidateStatus checks an update of /status: every condition's status
// is True, False or Unknown.
func ValidateStatus(svc *apiregistrationv1.APIService) field.ErrorList {
	in, err := toInternal(svc)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return validation.ValidateAPIServiceStatus(&in.Status, field.NewPath("status"))
}

func toInternal(svc *apiregistrationv1.APIService) (*apiregistration.APIService, error) {
	out := &apiregistration.APIService{}
	if err := apiregistrationv1.Convert_v1_APIService_To_apiregistration_APIService(svc.DeepCopy(), out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// withoutGenericMeta drops the metadata errors the generic ObjectMeta
// validation reports too, keeping the one only this kind makes (the name
// must be version.group).
func withoutGenericMeta(errs field.ErrorList) field.ErrorList {
	out := errs[:0]
	for _, e := range errs {
		if e.Field == "metadata" || strings.HasPrefix(e.Field, "metadata.") {
			if !(e.Field == "metadata.name" && strings.HasPrefix(e.Detail, "must be `spec.version")) {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}
