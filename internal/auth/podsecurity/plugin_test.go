package podsecurity

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/auth"
)

type fakeNamespaces map[string]*corev1.Namespace

func (f fakeNamespaces) GetNamespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if ns, ok := f[name]; ok {
		return ns, nil
	}
	return nil, apierrors.NewNotFound(namespaces, name)
}

type fakePods []*corev1.Pod

func (f fakePods) ListPods(_ context.Context, namespace string) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	for _, p := range f {
		if p.Namespace == namespace {
			out = append(out, p.DeepCopy())
		}
	}
	return out, nil
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func privilegedPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: name, Image: "x",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
}

func plainPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "x"}}},
	}
}

// restrictedPod meets the restricted standard.
func restrictedPod(ns, name string) *corev1.Pod {
	p := plainPod(ns, name)
	p.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	return p
}

const restrictedPrivilegedMessage = `pods "bad" is forbidden: violates PodSecurity "restricted:latest": ` +
	`privileged (container "bad" must not set securityContext.privileged=true), ` +
	`allowPrivilegeEscalation != false (container "bad" must set securityContext.allowPrivilegeEscalation=false), ` +
	`unrestricted capabilities (container "bad" must set securityContext.capabilities.drop=["ALL"]), ` +
	`runAsNonRoot != true (pod or container "bad" must set securityContext.runAsNonRoot=true), ` +
	`seccompProfile (pod or container "bad" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`

func TestAdmit(t *testing.T) {
	enforce := func(level string) map[string]string {
		return map[string]string{"pod-security.kubernetes.io/enforce": level}
	}
	nss := fakeNamespaces{
		"open":       namespace("open", nil),
		"team-a":     namespace("team-a", enforce("restricted")),
		"base":       namespace("base", enforce("baseline")),
		"warned":     namespace("warned", map[string]string{"pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/warn-version": "v1.30"}),
		"audited":    namespace("audited", map[string]string{"pod-security.kubernetes.io/audit": "restricted"}),
		"kube-trust": namespace("kube-trust", enforce("restricted")),
	}
	existing := fakePods{privilegedPod("open", "old-a"), privilegedPod("open", "old-b"), plainPod("open", "fine")}
	cfgFile := writeConfig(t, `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: privileged
    exemptions:
      usernames: [trusted]
      namespaces: [kube-trust]
      runtimeClasses: [kata]
`)
	cfg, err := LoadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, nss, existing)
	if err != nil {
		t.Fatal(err)
	}
	user := &auth.User{Name: "ann"}
	kataPod := privilegedPod("team-a", "bad")
	kataPod.Spec.RuntimeClassName = ptr.To("kata")
	privilegedDeployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: privilegedPod("", "web").Spec}},
	}
	relabeled := namespace("open", enforce("baseline"))

	for _, tc := range []struct {
		name        string
		req         auth.AdmissionRequest
		wantErr     string // the refusal's message; "" admits
		wantCode    int32
		warnings    []string
		annotations map[string]string
	}{{
		name:        "privileged pod in a restricted namespace",
		req:         podRequest(auth.Create, user, privilegedPod("team-a", "bad"), nil),
		wantErr:     restrictedPrivilegedMessage,
		wantCode:    403,
		annotations: map[string]string{"pod-security.kubernetes.io/enforce-policy": "restricted:latest"},
	}, {
		name:        "restricted pod in a restricted namespace",
		req:         podRequest(auth.Create, user, restrictedPod("team-a", "good"), nil),
		annotations: map[string]string{"pod-security.kubernetes.io/enforce-policy": "restricted:latest"},
	}, {
		name:    "privileged pod in a baseline namespace",
		req:     podRequest(auth.Create, user, privilegedPod("base", "bad"), nil),
		wantErr: `pods "bad" is forbidden: violates PodSecurity "baseline:latest": privileged (container "bad" must not set securityContext.privileged=true)`, wantCode: 403,
	}, {
		name:        "unlabelled namespace is privileged by default",
		req:         podRequest(auth.Create, user, privilegedPod("open", "p"), nil),
		annotations: map[string]string{"pod-security.kubernetes.io/enforce-policy": "privileged:latest"},
	}, {
		name:     "warn label with a version warns",
		req:      podRequest(auth.Create, user, privilegedPod("warned", "p"), nil),
		warnings: []string{`would violate PodSecurity "baseline:v1.30": privileged (container "p" must not set securityContext.privileged=true)`},
	}, {
		name: "audit label annotates only",
		req:  podRequest(auth.Create, user, plainPod("audited", "p"), nil),
		annotations: map[string]string{
			"pod-security.kubernetes.io/enforce-policy": "privileged:latest",
			"pod-security.kubernetes.io/audit-violations": `would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "p" must set securityContext.allowPrivilegeEscalation=false), ` +
				`unrestricted capabilities (container "p" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "p" must set securityContext.runAsNonRoot=true), ` +
				`seccompProfile (pod or container "p" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
		},
	}, {
		name:        "exempt user",
		req:         podRequest(auth.Create, &auth.User{Name: "trusted"}, privilegedPod("team-a", "bad"), nil),
		annotations: map[string]string{"pod-security.kubernetes.io/exempt": "user"},
	}, {
		name:        "exempt namespace",
		req:         podRequest(auth.Create, user, privilegedPod("kube-trust", "bad"), nil),
		annotations: map[string]string{"pod-security.kubernetes.io/exempt": "namespace"},
	}, {
		name:        "exempt runtime class",
		req:         podRequest(auth.Create, user, kataPod, nil),
		annotations: map[string]string{"pod-security.kubernetes.io/exempt": "runtimeClass"},
	}, {
		name: "update that changes no image is not evaluated",
		req: podRequest(auth.Update, user, func() *corev1.Pod {
			p := privilegedPod("team-a", "bad")
			p.Labels = map[string]string{"a": "b"}
			return p
		}(), privilegedPod("team-a", "bad")),
	}, {
		name: "update that changes an image is",
		req: podRequest(auth.Update, user, func() *corev1.Pod {
			p := privilegedPod("team-a", "bad")
			p.Spec.Containers[0].Image = "y"
			return p
		}(), privilegedPod("team-a", "bad")),
		wantErr: restrictedPrivilegedMessage, wantCode: 403,
	}, {
		name: "status updates are not evaluated",
		req: func() auth.AdmissionRequest {
			r := podRequest(auth.Update, user, privilegedPod("team-a", "bad"), privilegedPod("team-a", "bad"))
			r.Subresource = "status"
			return r
		}(),
	}, {
		name: "deletes are not evaluated",
		req:  auth.AdmissionRequest{User: user, Operation: auth.Delete, Resource: "pods", Namespace: "team-a", Name: "bad", Old: privilegedPod("team-a", "bad")},
	}, {
		name: "a deployment is warned, not refused",
		req: auth.AdmissionRequest{User: user, Operation: auth.Create, APIGroup: "apps", Resource: "deployments",
			Namespace: "team-a", Name: "web", Object: privilegedDeployment},
		warnings: []string{`would violate PodSecurity "restricted:latest": privileged (container "web" must not set securityContext.privileged=true), ` +
			`allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false), ` +
			`unrestricted capabilities (container "web" must set securityContext.capabilities.drop=["ALL"]), ` +
			`runAsNonRoot != true (pod or container "web" must set securityContext.runAsNonRoot=true), ` +
			`seccompProfile (pod or container "web" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
	}, {
		name: "tightening a namespace warns about its pods",
		req: auth.AdmissionRequest{User: user, Operation: auth.Update, Resource: "namespaces", Name: "open",
			Object: relabeled, Old: namespace("open", nil)},
		warnings: []string{
			`existing pods in namespace "open" violate the new PodSecurity enforce level "baseline:latest"`,
			`old-a (and 1 other pod): privileged`,
		},
	}, {
		name: "a bad label value is invalid",
		req: auth.AdmissionRequest{User: user, Operation: auth.Create, Resource: "namespaces", Name: "x",
			Object: namespace("x", enforce("strict"))},
		wantErr:  `Namespace "x" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted`,
		wantCode: 422,
	}, {
		name: "labels on an exempt namespace warn that they are ignored",
		req: auth.AdmissionRequest{User: user, Operation: auth.Update, Resource: "namespaces", Name: "kube-trust",
			Object: namespace("kube-trust", enforce("baseline")), Old: namespace("kube-trust", nil)},
		warnings: []string{`namespace "kube-trust" is exempt from Pod Security, and the policy (enforce=baseline:latest) will be ignored`},
	}, {
		name: "other resources pass",
		req:  auth.AdmissionRequest{User: user, Operation: auth.Create, Resource: "configmaps", Namespace: "team-a", Name: "c", Object: &corev1.ConfigMap{}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			notes := &auth.Notes{}
			ctx := auth.WithNotes(context.Background(), notes)
			err := p.Admit(ctx, &tc.req)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else {
				status, ok := err.(apierrors.APIStatus)
				if !ok {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				if got := status.Status().Message; got != tc.wantErr {
					t.Errorf("message:\n got %s\nwant %s", got, tc.wantErr)
				}
				if got := status.Status().Code; got != tc.wantCode {
					t.Errorf("code %d, want %d", got, tc.wantCode)
				}
			}
			if got := notes.Warnings(); !slices.Equal(got, tc.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", got, tc.warnings)
			}
			got := notes.Annotations()
			for k, v := range tc.annotations {
				if got[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func podRequest(op string, u *auth.User, pod, old *corev1.Pod) auth.AdmissionRequest {
	r := auth.AdmissionRequest{User: u, Operation: op, Resource: "pods", Namespace: pod.Namespace, Name: pod.Name, Object: pod}
	if old != nil {
		r.Old = old
	}
	return r
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admission.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	psa := `apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: baseline
  warn: restricted
`
	if err := os.WriteFile(filepath.Join(dir, "psa.yaml"), []byte(psa), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file  string
		wantEnforce string
		wantErr     string
	}{
		{name: "no file: privileged", wantEnforce: "privileged"},
		{name: "path relative to the file", file: `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  path: psa.yaml
`, wantEnforce: "baseline"},
		{name: "other plugins only", file: `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: EventRateLimit
  path: erl.yaml
`, wantEnforce: "privileged"},
		{name: "bad level", file: `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: strict
`, wantErr: `defaults.enforce: Invalid value: "strict"`},
		{name: "not an AdmissionConfiguration", file: "apiVersion: v1\nkind: ConfigMap\n", wantErr: `kind "ConfigMap" is not AdmissionConfiguration`},
		{name: "unknown config version", file: `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v9
    kind: PodSecurityConfiguration
`, wantErr: "pod-security.admission.config.k8s.io/v9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join(dir, "admission.yaml")
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := LoadConfig(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(cfg.Defaults.Enforce) != tc.wantEnforce {
				t.Errorf("enforce %q, want %q", cfg.Defaults.Enforce, tc.wantEnforce)
			}
		})
	}
}
