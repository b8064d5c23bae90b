// Package podsecurity is upstream's PodSecurity admission plugin, on the
// k8s.io/pod-security-admission library: the pod-security.kubernetes.io
// labels of a namespace say which Pod Security Standard (privileged,
// baseline, restricted) its pods are held to (enforce), warned about
// (warn: Warning headers) and audited against (audit: annotations in the
// audit log); pod controllers (Deployments, Jobs, ...) are warned and
// audited, not refused, as upstream.
package podsecurity

import (
	"context"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8smetrics "k8s.io/component-base/metrics"
	psadmission "k8s.io/pod-security-admission/admission"
	psaconfig "k8s.io/pod-security-admission/admission/api"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kemudi/kemudi/internal/auth"
)

// NamespaceGetter and PodLister are how the plugin reads the namespaces'
// labels and, when a namespace's enforce level is tightened, the pods it
// already holds.
type (
	NamespaceGetter = psadmission.NamespaceGetter
	PodLister       = psadmission.PodLister
)

// Plugin is the PodSecurity admission plugin.
type Plugin struct {
	delegate   *psadmission.Admission
	collectors []prometheus.Collector
}

// New builds the plugin from its configuration (LoadConfig).
func New(cfg *psaconfig.PodSecurityConfiguration, namespaces NamespaceGetter, pods PodLister) (*Plugin, error) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("pod security checks: %w", err)
	}
	recorder := metrics.NewPrometheusRecorder(api.GetAPIVersion())
	p := &Plugin{}
	recorder.MustRegister(func(rs ...k8smetrics.Registerable) {
		for _, r := range rs {
			// Create makes the lazily built vector; with no version
			// given, nothing is marked deprecated or hidden.
			r.Create(nil)
			p.collectors = append(p.collectors, r)
		}
	})
	a := &psadmission.Admission{
		Configuration:    cfg,
		Evaluator:        evaluator,
		Metrics:          recorder,
		PodSpecExtractor: psadmission.DefaultPodSpecExtractor{},
		NamespaceGetter:  namespaces,
		PodLister:        pods,
	}
	if err := a.CompleteConfiguration(); err != nil {
		return nil, fmt.Errorf("pod security: %w", err)
	}
	if err := a.ValidateConfiguration(); err != nil {
		return nil, fmt.Errorf("pod security: %w", err)
	}
	p.delegate = a
	return p, nil
}

// Collectors are upstream's pod_security_evaluations_total,
// pod_security_exemptions_total and pod_security_errors_total, for the
// API server's /metrics.
func (p *Plugin) Collectors() []prometheus.Collector { return p.collectors }

var (
	namespaces = corev1.Resource("namespaces")
	pods       = corev1.Resource("pods")
)

// Admit implements auth.Admission: creates and updates of namespaces,
// pods and pod controllers are evaluated; warnings go to the client and
// annotations to the audit log (both through auth.Notes in ctx).
func (p *Plugin) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	var op admissionv1.Operation
	switch r.Operation {
	case auth.Create:
		op = admissionv1.Create
	case auth.Update:
		op = admissionv1.Update
	default:
		return nil
	}
	gr := schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}
	if gr != namespaces && gr != pods && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	attrs := attributesOf(r, op)
	resp := p.delegate.Validate(ctx, attrs)
	for _, w := range resp.Warnings {
		auth.Warn(ctx, w)
	}
	for k, v := range resp.AuditAnnotations {
		auth.Annotate(ctx, api.AuditAnnotationPrefix+k, v)
	}
	if resp.Allowed {
		return nil
	}
	// Upstream starts from a generic refusal and takes the library's
	// message, reason, details and code when it gives them.
	err := apierrors.NewForbidden(gr, r.Name, errors.New("Not allowed by PodSecurity"))
	if res := resp.Result; res != nil {
		if res.Message != "" {
			err.ErrStatus.Message = res.Message
		}
		if res.Reason != "" {
			err.ErrStatus.Reason = res.Reason
		}
		if res.Details != nil {
			err.ErrStatus.Details = res.Details
		}
		if res.Code != 0 {
			err.ErrStatus.Code = res.Code
		}
	}
	return err
}

// attributesOf is r as the library reads it. A namespace is its own
// namespace, as upstream's admission attributes say.
func attributesOf(r *auth.AdmissionRequest, op admissionv1.Operation) *api.AttributesRecord {
	kind := schema.GroupVersionKind{}
	if r.Object != nil {
		kind = r.Object.GetObjectKind().GroupVersionKind()
	}
	version := kind.Version
	if version == "" {
		version = "v1"
	}
	gr := schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}
	if gr == namespaces && kind.Kind == "" {
		kind = corev1.SchemeGroupVersion.WithKind("Namespace")
	}
	username := ""
	if r.User != nil {
		username = r.User.Name
	}
	ns := r.Namespace
	if gr == namespaces {
		ns = r.Name
	}
	var old runtime.Object
	if op == admissionv1.Update {
		old = r.Old
	}
	return &api.AttributesRecord{
		Name:        r.Name,
		Namespace:   ns,
		Kind:        kind,
		Resource:    gr.WithVersion(version),
		Subresource: r.Subresource,
		Operation:   op,
		Object:      r.Object,
		OldObject:   old,
		Username:    username,
	}
}
