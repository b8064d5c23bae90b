package openapi

// The OpenAPI definitions of every API type the server can serve are
// generated from the k8s.io/api and k8s.io/apimachinery Go types by
// kube-openapi's openapi-gen (a tool dependency in go.mod), as upstream
// generates pkg/generated/openapi. Run `go generate ./internal/apiserver/openapi`
// after a k8s.io/api upgrade or to serve a new API group version: add its
// package to the list below. The list is every GA group version of
// k8s.io/api, plus scheduling/v1alpha3, which batch/v1 Job refers to.
// A served resource whose types are missing here makes the documents
// fail to build (the tests say which type).
//
// The generator's API rule report (upstream keeps its known violations in
// api/api-rules) is not useful for upstream's own types, hence /dev/null.

//go:generate go tool openapi-gen --output-dir generated --output-pkg github.com/kemudi/kemudi/internal/apiserver/openapi/generated --output-file zz_generated.openapi.go --go-header-file /dev/null --report-filename /dev/null k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/util/intstr k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/version k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 k8s.io/api/autoscaling/v1 k8s.io/api/autoscaling/v2 k8s.io/api/policy/v1 k8s.io/api/rbac/v1 k8s.io/api/storage/v1 k8s.io/api/networking/v1 k8s.io/api/scheduling/v1 k8s.io/api/scheduling/v1alpha3 k8s.io/api/coordination/v1 k8s.io/api/discovery/v1 k8s.io/api/events/v1 k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 k8s.io/api/certificates/v1 k8s.io/api/admissionregistration/v1 k8s.io/api/node/v1 k8s.io/api/flowcontrol/v1 k8s.io/api/resource/v1 k8s.io/api/storagemigration/v1
