package openapi

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
)

// The builders of kube-openapi (pkg/builder for v2, pkg/builder3 for v3)
// take the routes through the small interfaces of pkg/common, so the
// server describes its endpoints with the plain values below instead of
// go-restful web services as upstream's installer does.

// service is one web service: every route under a root path, e.g.
// /apis/apps/v1. Upstream builds one v3 document per service.
type service struct {
	root   string
	gv     schema.GroupVersion // the empty one for /api, /apis, /version...
	routes []common.Route
}

func (s *service) RootPath() string                   { return s.root }
func (s *service) PathParameters() []common.Parameter { return nil }
func (s *service) Routes() []common.Route             { return s.routes }

// response is one documented status code of a route.
type response struct {
	code    int
	message string
	model   interface{}
}

func (r response) Code() int          { return r.code }
func (r response) Message() string    { return r.message }
func (r response) Model() interface{} { return r.model }

// route is one operation: a method on a path.
type route struct {
	method      string
	path        string
	operationID string
	tags        []string
	description string
	params      []common.Parameter
	consumes    []string
	produces    []string
	metadata    map[string]interface{}
	reads       interface{}
	writes      interface{}
	responses   []common.StatusCodeResponse
}

func (r *route) Method() string                                   { return r.method }
func (r *route) Path() string                                     { return r.path }
func (r *route) OperationName() string                            { return r.operationID }
func (r *route) Parameters() []common.Parameter                   { return r.params }
func (r *route) Description() string                              { return r.description }
func (r *route) Consumes() []string                               { return r.consumes }
func (r *route) Produces() []string                               { return r.produces }
func (r *route) Metadata() map[string]interface{}                 { return r.metadata }
func (r *route) RequestPayloadSample() interface{}                { return r.reads }
func (r *route) ResponsePayloadSample() interface{}               { return r.writes }
func (r *route) StatusCodeResponses() []common.StatusCodeResponse { return r.responses }

// returns documents a status code and its body.
func (r *route) returns(code int, message string, model interface{}) {
	r.responses = append(r.responses, response{code: code, message: message, model: model})
}

// param is a path, query or body parameter.
type param struct {
	name        string
	description string
	required    bool
	kind        common.ParameterKind
	dataType    string
}

func (p *param) Name() string               { return p.name }
func (p *param) Description() string        { return p.description }
func (p *param) Required() bool             { return p.required }
func (p *param) Kind() common.ParameterKind { return p.kind }
func (p *param) DataType() string           { return p.dataType }
func (p *param) AllowMultiple() bool        { return false }

func pathParam(name, description string) *param {
	return &param{name: name, description: description, required: true, kind: common.PathParameterKind, dataType: "string"}
}

func queryParam(name, description, dataType string) *param {
	return &param{name: name, description: description, kind: common.QueryParameterKind, dataType: dataType}
}

// bodyParam is the request body; its schema is the route's reads sample.
func bodyParam(required bool) *param {
	return &param{name: "body", required: required, kind: common.BodyParameterKind}
}
