package storage

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kemudi/kemudi/internal/storage/encryption"
)

func encConfig(t *testing.T, providers string) encryption.Transformers {
	t.Helper()
	ts, err := encryption.ParseConfig([]byte("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n"+providers), "enc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestRotationRewritesStaleValues: with a new key put first, an update
// that changes nothing still rewrites a value sealed with the old key
// (upstream's rotation, `kubectl replace` of every secret), while a value
// already sealed with the first key is left alone (no new revision).
func TestRotationRewritesStaleValues(t *testing.T) {
	ctx := context.Background()
	e, err := StartEmbedded(ctx, t.TempDir(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	const (
		oldKey = "  - aesgcm: {keys: [{name: old, secret: YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=}]}\n"
		newKey = "  - aesgcm: {keys: [{name: new, secret: YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=}]}\n"
	)
	key := Prefix + "secrets/default/s"
	stored := func() ([]byte, int64) {
		resp, err := e.Client().Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("get: %v", err)
		}
		return resp.Kvs[0].Value, resp.Kvs[0].ModRevision
	}

	s1, err := Open(ctx, e.Client(), scheme, slog.Default(), WithEncryption(encConfig(t, oldKey)))
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "s"}, Data: map[string][]byte{"p": []byte("plaintext-value")}}
	if _, err := s1.Create(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	if v, _ := stored(); !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:old:")) || bytes.Contains(v, []byte("plaintext-value")) {
		t.Fatalf("stored %q", v[:30])
	}

	s2, err := Open(ctx, e.Client(), scheme, slog.Default(), WithEncryption(encConfig(t, newKey+oldKey)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	same := func(cur runtime.Object) (runtime.Object, error) { return cur, nil }
	if _, err := s2.Update(ctx, key, nil, same); err != nil {
		t.Fatal(err)
	}
	v, rev := stored()
	if !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:new:")) {
		t.Fatalf("not rewritten: %q", v[:30])
	}
	if _, err := s2.Update(ctx, key, nil, same); err != nil {
		t.Fatal(err)
	}
	if _, rev2 := stored(); rev2 != rev {
		t.Errorf("a no-op update of a current value wrote a new revision (%d -> %d)", rev, rev2)
	}
	got, err := s2.Get(ctx, key, "")
	if err != nil || string(got.(*corev1.Secret).Data["p"]) != "plaintext-value" {
		t.Errorf("read back: %v %v", got, err)
	}
}
