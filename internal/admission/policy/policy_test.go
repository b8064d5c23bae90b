package policy

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicy"
)

func ptr[T any](v T) *T { return &v }

// fakeCluster serves namespaces and ConfigMap params from memory.
type fakeCluster struct {
	namespaces map[string]*corev1.Namespace
	configMaps map[string]*corev1.ConfigMap // by namespace/name
}

func (f *fakeCluster) GetNamespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if ns, ok := f.namespaces[name]; ok {
		return ns, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
}

var configMapKind = corev1.SchemeGroupVersion.WithKind("ConfigMap")

func (f *fakeCluster) Scope(gvk schema.GroupVersionKind) (bool, bool) {
	return true, gvk == configMapKind
}

func (f *fakeCluster) Get(_ context.Context, _ schema.GroupVersionKind, ns, name string) (runtime.Object, error) {
	if cm, ok := f.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), name)
}

func (f *fakeCluster) List(_ context.Context, _ schema.GroupVersionKind, ns string, sel labels.Selector) ([]runtime.Object, error) {
	var out []runtime.Object
	for key, cm := range f.configMaps {
		if strings.HasPrefix(key, ns+"/") && sel.Matches(labels.Set(cm.Labels)) {
			out = append(out, cm)
		}
	}
	return out, nil
}

func newCluster() *fakeCluster {
	return &fakeCluster{
		namespaces: map[string]*corev1.Namespace{
			"default": {ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{"kubernetes.io/metadata.name": "default"}}},
			"prod":    {ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"environment": "prod"}}},
		},
		configMaps: map[string]*corev1.ConfigMap{
			"default/limits": {ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "default", Labels: map[string]string{"kind": "limits"}}, Data: map[string]string{"maxReplicas": "3"}},
		},
	}
}

// demoPolicy is upstream's documentation example.
func demoPolicy(modify ...func(*admissionregistrationv1.ValidatingAdmissionPolicy)) *admissionregistrationv1.ValidatingAdmissionPolicy {
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-policy.example.com", UID: "p1", Generation: 1},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{"CREATE", "UPDATE"},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				}}},
			},
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <= 5"}},
		},
	}
	for _, m := range modify {
		m(p)
	}
	validatingadmissionpolicy.Default(p)
	return p
}

func binding(name string, actions []admissionregistrationv1.ValidationAction, modify ...func(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "demo-policy.example.com", ValidationActions: actions},
	}
	for _, m := range modify {
		m(b)
	}
	validatingadmissionpolicy.DefaultMatchResources(b.Spec.MatchResources)
	return b
}

var deny = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}

func deployment(ns string, replicas int32, lbls map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: lbls},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr(replicas)},
	}
}

func createOf(obj runtime.Object) *auth.AdmissionRequest {
	m := obj.(metav1.Object)
	return &auth.AdmissionRequest{
		User: &auth.User{Name: "alice", Groups: []string{"system:authenticated"}}, Operation: auth.Create,
		APIGroup: "apps", Resource: "deployments", Namespace: m.GetNamespace(), Name: m.GetName(), Object: obj,
	}
}

func newPlugin(t *testing.T, c *fakeCluster, pols []*admissionregistrationv1.ValidatingAdmissionPolicy, bs []*admissionregistrationv1.ValidatingAdmissionPolicyBinding) *Plugin {
	t.Helper()
	p := New(Config{
		Namespaces: c, Params: c, Typer: clientgoscheme.Scheme,
		Resources: []*registry.Resource{{GroupVersion: appsv1.SchemeGroupVersion, Resource: "deployments", Kind: "Deployment", Namespaced: true}},
	})
	p.ResetPolicies(pols)
	p.ResetBindings(bs)
	return p
}

type outcome struct {
	code        int32 // 0: allowed
	reason      metav1.StatusReason
	message     string // substring of the refusal
	warning     string // substring of a warning
	annotations []string
}

func check(t *testing.T, p *Plugin, r *auth.AdmissionRequest, want outcome) {
	t.Helper()
	notes := &auth.Notes{}
	err := p.Admit(auth.WithNotes(context.Background(), notes), r)
	if want.code == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
	} else {
		st, ok := err.(*apierrors.StatusError)
		if !ok {
			t.Fatalf("got %v, want a status error", err)
		}
		if st.ErrStatus.Code != want.code || st.ErrStatus.Reason != want.reason {
			t.Errorf("code %d reason %s, want %d %s", st.ErrStatus.Code, st.ErrStatus.Reason, want.code, want.reason)
		}
		if !strings.Contains(st.ErrStatus.Message, want.message) {
			t.Errorf("message %q, want it to contain %q", st.ErrStatus.Message, want.message)
		}
	}
	warnings := strings.Join(notes.Warnings(), "\n")
	if want.warning == "" && warnings != "" || !strings.Contains(warnings, want.warning) {
		t.Errorf("warnings %q, want %q", warnings, want.warning)
	}
	ann := notes.Annotations()
	for _, kv := range want.annotations {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.Contains(ann[k], v) {
			t.Errorf("annotation %s = %q, want it to contain %q (all: %v)", k, ann[k], v, ann)
		}
	}
}

func TestEvaluate(t *testing.T) {
	paramPolicy := func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
		p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		p.Spec.Validations = []admissionregistrationv1.Validation{{
			Expression:        "object.spec.replicas <= int(params.data.maxReplicas)",
			MessageExpression: "'replicas must be at most ' + params.data.maxReplicas",
		}}
	}
	paramRef := func(name string, action admissionregistrationv1.ParameterNotFoundActionType) func(*admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		return func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Name: name, ParameterNotFoundAction: &action}
		}
	}
	const demoDenied = `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5`
	cases := []struct {
		name     string
		policy   *admissionregistrationv1.ValidatingAdmissionPolicy
		bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
		req      *auth.AdmissionRequest
		want     outcome
	}{
		{
			name: "demo: 6 replicas denied", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("demo-binding-test.example.com", deny)},
			req:      createOf(deployment("default", 6, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: demoDenied},
		},
		{
			name: "demo: 5 replicas allowed", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("demo-binding-test.example.com", deny)},
			req:      createOf(deployment("default", 5, nil)),
		},
		{
			name: "policy without bindings does nothing", policy: demoPolicy(),
			req: createOf(deployment("default", 6, nil)),
		},
		{
			name: "other resources are not matched", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req: &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "apps", Resource: "replicasets", Namespace: "default", Name: "web",
				Object: &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(9))}}},
		},
		{
			name: "delete is not among the operations", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req: &auth.AdmissionRequest{Operation: auth.Delete, APIGroup: "apps", Resource: "deployments", Namespace: "default", Name: "web",
				Old: deployment("default", 9, nil)},
		},
		{
			name: "warn", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("demo-binding-test.example.com", []admissionregistrationv1.ValidationAction{"Warn"})},
			req:      createOf(deployment("default", 6, nil)),
			want:     outcome{warning: "Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com': failed expression: object.spec.replicas <= 5"},
		},
		{
			name: "audit", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", []admissionregistrationv1.ValidationAction{"Audit"})},
			req:      createOf(deployment("default", 6, nil)),
			want: outcome{annotations: []string{
				`validation.policy.admission.k8s.io/validation_failure=[{"message":"failed expression: object.spec.replicas \u003c= 5","policy":"demo-policy.example.com","binding":"b","expressionIndex":0,"validationActions":["Audit"]}]`,
			}},
		},
		{
			name: "deny and audit", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", []admissionregistrationv1.ValidationAction{"Deny", "Audit"})},
			req:      createOf(deployment("default", 6, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "failed expression", annotations: []string{"validation.policy.admission.k8s.io/validation_failure=\"binding\":\"b\""}},
		},
		{
			name: "reason Forbidden and message", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.Validations[0].Reason = ptr(metav1.StatusReasonForbidden)
				p.Spec.Validations[0].Message = "too many replicas"
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 6, nil)),
			want:     outcome{code: 403, reason: metav1.StatusReasonForbidden, message: "denied request: too many replicas"},
		},
		{
			name: "messageExpression", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.Validations[0].MessageExpression = "'replicas ' + string(object.spec.replicas) + ' > 5 for ' + request.userInfo.username"
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 6, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "denied request: replicas 6 > 5 for alice"},
		},
		{
			name: "variables and namespaceObject", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.Variables = []admissionregistrationv1.Variable{{Name: "prod", Expression: "namespaceObject.metadata.labels.?environment.orValue('') == 'prod'"}}
				p.Spec.Validations[0].Expression = "!variables.prod || object.spec.replicas >= 2"
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("prod", 1, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "failed expression: !variables.prod"},
		},
		{
			name: "variables: other namespace passes", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.Variables = []admissionregistrationv1.Variable{{Name: "prod", Expression: "namespaceObject.metadata.labels.?environment.orValue('') == 'prod'"}}
				p.Spec.Validations[0].Expression = "!variables.prod || object.spec.replicas >= 2"
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 1, nil)),
		},
		{
			name: "namespaceSelector of the policy excludes", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.MatchConstraints.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"environment": "prod"}}
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 6, nil)),
		},
		{
			name: "namespaceSelector of the binding includes", policy: demoPolicy(),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny, func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
				b.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"environment": "prod"}}}
			})},
			req:  createOf(deployment("prod", 6, nil)),
			want: outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "binding 'b' denied request"},
		},
		{
			name: "objectSelector", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.MatchConstraints.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 6, map[string]string{"tier": "db"})),
		},
		{
			name: "excludeResourceRules by name", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.MatchConstraints.ExcludeResourceRules = []admissionregistrationv1.NamedRuleWithOperations{{
					ResourceNames: []string{"web"},
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{"*"},
						Rule: admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*"}}},
				}}
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 6, nil)),
		},
		{
			name: "matchConditions false skips", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "not-alice", Expression: "request.userInfo.username != 'alice'"}}
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 6, nil)),
		},
		{
			name: "param: over the limit", policy: demoPolicy(paramPolicy),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny, paramRef("limits", admissionregistrationv1.DenyAction))},
			req:      createOf(deployment("default", 4, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "denied request: replicas must be at most 3"},
		},
		{
			name: "param: within the limit", policy: demoPolicy(paramPolicy),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny, paramRef("limits", admissionregistrationv1.DenyAction))},
			req:      createOf(deployment("default", 3, nil)),
		},
		{
			name: "param: missing, Deny", policy: demoPolicy(paramPolicy),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny, paramRef("nope", admissionregistrationv1.DenyAction))},
			req:      createOf(deployment("default", 1, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"},
		},
		{
			name: "param: missing, Allow", policy: demoPolicy(paramPolicy),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny, paramRef("nope", admissionregistrationv1.AllowAction))},
			req:      createOf(deployment("default", 9, nil)),
		},
		{
			name: "param: by selector", policy: demoPolicy(paramPolicy),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny, func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
				b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"kind": "limits"}}, ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)}
			})},
			req:  createOf(deployment("default", 4, nil)),
			want: outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "replicas must be at most 3"},
		},
		{
			name: "runtime error, failurePolicy Fail", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.Validations[0].Expression = "object.spec.nothere == 1"
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 1, nil)),
			want:     outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "expression 'object.spec.nothere == 1' resulted in error: no such key: nothere"},
		},
		{
			name: "runtime error, failurePolicy Ignore", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.Validations[0].Expression = "object.spec.nothere == 1"
				p.Spec.FailurePolicy = ptr(admissionregistrationv1.Ignore)
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req:      createOf(deployment("default", 1, nil)),
		},
		{
			name: "audit annotations", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "high-replica-count", ValueExpression: "'Deployment spec.replicas set to ' + string(object.spec.replicas)"}}
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", []admissionregistrationv1.ValidationAction{"Audit"})},
			req:      createOf(deployment("default", 2, nil)),
			want:     outcome{annotations: []string{"demo-policy.example.com/high-replica-count=Deployment spec.replicas set to 2"}},
		},
		{
			name: "custom resource (unstructured)", policy: demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Spec.MatchConstraints.ResourceRules[0].APIGroups = []string{"stable.example.com"}
				p.Spec.MatchConstraints.ResourceRules[0].Resources = []string{"crontabs"}
				p.Spec.Validations[0].Expression = "object.spec.cronSpec != '' && object.kind == 'CronTab'"
			}),
			bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)},
			req: &auth.AdmissionRequest{Operation: auth.Create, APIGroup: "stable.example.com", Resource: "crontabs", Namespace: "default", Name: "c",
				Object: &unstructured.Unstructured{Object: map[string]interface{}{
					"apiVersion": "stable.example.com/v1", "kind": "CronTab",
					"metadata": map[string]interface{}{"name": "c", "namespace": "default"},
					"spec":     map[string]interface{}{"cronSpec": ""},
				}}},
			want: outcome{code: 422, reason: metav1.StatusReasonInvalid, message: `crontabs.stable.example.com "c" is forbidden`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, newCluster(), []*admissionregistrationv1.ValidatingAdmissionPolicy{tc.policy}, tc.bindings)
			check(t, p, tc.req, tc.want)
		})
	}
}

// The error of a denial is upstream's, whole.
func TestDenialMessage(t *testing.T) {
	p := newPlugin(t, newCluster(), []*admissionregistrationv1.ValidatingAdmissionPolicy{demoPolicy()},
		[]*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("demo-binding-test.example.com", deny)})
	err := p.Admit(context.Background(), createOf(deployment("default", 6, nil)))
	want := `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// A policy is compiled once per generation, and again when it changes.
func TestCompiledOncePerGeneration(t *testing.T) {
	p := newPlugin(t, newCluster(), nil, nil)
	pol := demoPolicy()
	p.SetPolicy(pol)
	first := p.policies[pol.Name].eval
	same := pol.DeepCopy()
	same.ResourceVersion = "2" // a status update
	p.SetPolicy(same)
	if p.policies[pol.Name].eval != first {
		t.Error("recompiled for the same generation")
	}
	changed := demoPolicy(func(x *admissionregistrationv1.ValidatingAdmissionPolicy) {
		x.Generation = 2
		x.Spec.Validations[0].Expression = "object.spec.replicas <= 1"
	})
	p.SetPolicy(changed)
	p.SetBinding(binding("b", deny))
	check(t, p, createOf(deployment("default", 2, nil)), outcome{code: 422, reason: metav1.StatusReasonInvalid, message: "object.spec.replicas <= 1"})
	p.DeleteBinding("b")
	check(t, p, createOf(deployment("default", 2, nil)), outcome{})
}
