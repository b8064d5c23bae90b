package kubelet

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"$(A)":          "1",
		"x$(A)y$(B)z":   "x1ytwoz",
		"$(C)":          "$(C)",
		"$$(A)":         "$(A)",
		"$A":            "$A",
		"$(A":           "$(A",
		"cost: $$5":     "cost: $5",
		"":              "",
		"$(A)$(B)$(A)$": "1two1$",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

type fakeObjects struct{}

func (fakeObjects) configMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if name != "cfg" {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
	}
	return &corev1.ConfigMap{Data: map[string]string{"host": "db", "port": "5432"}}, nil
}

func (fakeObjects) secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
}

func TestMakeEnv(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}}}
	services := []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.1",
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "redis-main", Namespace: "shop"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.7",
			Ports: []corev1.ServicePort{{Port: 6379, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "elsewhere"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.8"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "headless", Namespace: "shop"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}},
	}
	c := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{Prefix: "DB_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		Env: []corev1.EnvVar{
			{Name: "URL", Value: "postgres://$(DB_host):$(DB_port)/$(NOPE) via $(REDIS_MAIN_SERVICE_HOST)"},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "DB_port", Value: "6543"},
		},
	}
	got, _, err := makeEnv(context.Background(), envInput{Pod: pod, Container: c, PodIPs: []string{"10.42.0.5"}, Services: services}, fakeObjects{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range got {
		env[kv.Key] = string(kv.Value)
	}
	for k, want := range map[string]string{
		"DB_host":                        "db",
		"DB_port":                        "6543",
		"URL":                            "postgres://db:5432/$(NOPE) via 10.43.0.7",
		"POD":                            "web",
		"APP":                            "web",
		"IP":                             "10.42.0.5",
		"KUBERNETES_SERVICE_HOST":        "10.43.0.1",
		"KUBERNETES_SERVICE_PORT":        "443",
		"KUBERNETES_SERVICE_PORT_HTTPS":  "443",
		"KUBERNETES_PORT_443_TCP":        "tcp://10.43.0.1:443",
		"REDIS_MAIN_SERVICE_HOST":        "10.43.0.7",
		"REDIS_MAIN_PORT":                "tcp://10.43.0.7:6379",
		"REDIS_MAIN_PORT_6379_TCP_ADDR":  "10.43.0.7",
		"REDIS_MAIN_PORT_6379_TCP_PROTO": "tcp",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	for k := range env {
		if strings.HasPrefix(k, "OTHER_") || strings.HasPrefix(k, "HEADLESS_") {
			t.Errorf("service variable %s of a service the pod does not see", k)
		}
	}

	c.Env = append(c.Env, corev1.EnvVar{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "pw"}}})
	if _, _, err := makeEnv(context.Background(), envInput{Pod: pod, Container: c}, fakeObjects{}); err == nil || err.Error() != `secret "db" not found` {
		t.Errorf("missing secret: %v", err)
	}
}
