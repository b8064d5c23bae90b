package secret

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}

func TestDefault(t *testing.T) {
	s := &corev1.Secret{
		ObjectMeta: meta("db"),
		Data:       map[string][]byte{"user": []byte("old"), "host": []byte("db")},
		StringData: map[string]string{"user": "admin", "password": "s3cret"},
	}
	Default(s)
	want := map[string][]byte{"user": []byte("admin"), "host": []byte("db"), "password": []byte("s3cret")}
	if !reflect.DeepEqual(s.Data, want) {
		t.Errorf("data = %q, want %q", s.Data, want)
	}
	if s.StringData != nil {
		t.Errorf("stringData kept: %v", s.StringData)
	}
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("type = %q, want Opaque", s.Type)
	}
}

func TestValidate(t *testing.T) {
	big := make([]byte, corev1.MaxSecretSize)
	for _, tc := range []struct {
		name string
		s    corev1.Secret
		want []string
	}{
		{"opaque", corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a.b_c-d": []byte("x")}}, nil},
		{"custom type", corev1.Secret{Type: "example.com/thing"}, nil},
		{"bad key", corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a/b": nil}}, []string{"FieldValueInvalid data[a/b]"}},
		{"too big", corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": big, "b": []byte("1")}}, []string{"FieldValueTooLong data"}},
		{"sa token without name", corev1.Secret{Type: corev1.SecretTypeServiceAccountToken}, []string{"FieldValueRequired metadata.annotations[kubernetes.io/service-account.name]"}},
		{"sa token", corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}}, Type: corev1.SecretTypeServiceAccountToken}, nil},
		{"dockerconfigjson missing", corev1.Secret{Type: corev1.SecretTypeDockerConfigJson}, []string{"FieldValueRequired data[.dockerconfigjson]"}},
		{"dockerconfigjson not json", corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, []string{"FieldValueInvalid data[.dockerconfigjson]"}},
		{"dockerconfigjson", corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)}}, nil},
		{"dockercfg missing", corev1.Secret{Type: corev1.SecretTypeDockercfg}, []string{"FieldValueRequired data[.dockercfg]"}},
		{"basic auth empty", corev1.Secret{Type: corev1.SecretTypeBasicAuth}, []string{"FieldValueRequired data[username]", "FieldValueRequired data[password]"}},
		{"basic auth password only", corev1.Secret{Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"password": nil}}, nil},
		{"ssh empty key", corev1.Secret{Type: corev1.SecretTypeSSHAuth, Data: map[string][]byte{"ssh-privatekey": nil}}, []string{"FieldValueRequired data[ssh-privatekey]"}},
		{"tls without key", corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("x")}}, []string{"FieldValueRequired data[tls.key]"}},
		{"tls", corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.Name = "s"
			if got := errKeys(Validate(&s)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateRedactsContents(t *testing.T) {
	s := &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("hunter2")}}
	errs := Validate(s)
	if len(errs) != 1 || strings.Contains(errs.ToAggregate().Error(), "hunter2") {
		t.Errorf("errors = %v, want one without the contents", errs)
	}
}

func TestValidateUpdate(t *testing.T) {
	yes := true
	old := &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1")}}
	for _, tc := range []struct {
		name   string
		mutate func(s, old *corev1.Secret)
		want   []string
	}{
		{"data change", func(s, _ *corev1.Secret) { s.Data["a"] = []byte("2") }, nil},
		{"type change", func(s, _ *corev1.Secret) { s.Type = "example.com/other" }, []string{"FieldValueInvalid type"}},
		{"immutable data change", func(s, old *corev1.Secret) {
			old.Immutable, s.Immutable = &yes, &yes
			s.Data["a"] = []byte("2")
		}, []string{"FieldValueForbidden data"}},
		{"immutable unset", func(s, old *corev1.Secret) { old.Immutable = &yes }, []string{"FieldValueForbidden immutable"}},
		{"immutable unchanged", func(s, old *corev1.Secret) { old.Immutable, s.Immutable = &yes, &yes }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, s := old.DeepCopy(), old.DeepCopy()
			tc.mutate(s, o)
			if got := errKeys(ValidateUpdate(s, o)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	bad := &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("x"), "tls.key": []byte("y")}}
	if w := Warnings(bad); len(w) != 1 {
		t.Errorf("warnings = %v, want one for an unusable key pair", w)
	}
	if w := Warnings(&corev1.Secret{Type: corev1.SecretTypeOpaque}); w != nil {
		t.Errorf("warnings for opaque = %v", w)
	}
}

func TestTable(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", CreationTimestamp: metav1.NewTime(time.Now().Add(-90 * time.Second))},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{}")}}
	row, err := Resource().Table.Row(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"regcred", "kubernetes.io/dockerconfigjson", int64(1), "90s"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
	if got := Resource().SelectableFields(s)["type"]; got != "kubernetes.io/dockerconfigjson" {
		t.Errorf("type field = %q", got)
	}
}
