package serviceaccount

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCleanSecretReferences(t *testing.T) {
	sa := &corev1.ServiceAccount{Secrets: []corev1.ObjectReference{{Name: "tok", Namespace: "other", Kind: "Secret", UID: "u"}}}
	Resource().Hooks.PrepareForCreate(context.Background(), sa)
	if want := []corev1.ObjectReference{{Name: "tok"}}; !reflect.DeepEqual(sa.Secrets, want) {
		t.Errorf("secrets = %+v, want %+v", sa.Secrets, want)
	}
}

func TestWarnings(t *testing.T) {
	annotated := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{enforceMountableSecrets: "true"}}}
	if w := Warnings(annotated, nil); len(w) != 1 {
		t.Errorf("create warnings = %v, want one", w)
	}
	if w := Warnings(annotated, annotated); w != nil {
		t.Errorf("warnings when already annotated = %v", w)
	}
	if w := Warnings(&corev1.ServiceAccount{}, nil); w != nil {
		t.Errorf("warnings without annotation = %v", w)
	}
}

func TestTable(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(time.Now().Add(-5 * time.Minute))}}
	row, err := Resource().Table.Row(sa)
	if err != nil {
		t.Fatal(err)
	}
	if want := []interface{}{"default", "5m"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
}
