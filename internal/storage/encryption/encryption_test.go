package encryption

import (
	"bytes"
	"strings"
	"testing"
)

// Keys of the right sizes, base64: 32 bytes of 'a' and of 'b'.
const (
	keyA = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
	keyB = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="
)

func config(providers string) string {
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n" + providers
}

func TestProvidersRoundTrip(t *testing.T) {
	plain := []byte("k8s\x00 a secret value: hunter2")
	for _, tc := range []struct {
		name, providers, prefix string
	}{
		{"aesgcm", "  - aesgcm: {keys: [{name: key1, secret: " + keyA + "}]}\n", "k8s:enc:aesgcm:v1:key1:"},
		{"aescbc", "  - aescbc: {keys: [{name: k2, secret: " + keyA + "}]}\n", "k8s:enc:aescbc:v1:k2:"},
		{"secretbox", "  - secretbox: {keys: [{name: box, secret: " + keyA + "}]}\n", "k8s:enc:secretbox:v1:box:"},
		{"identity", "  - identity: {}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseConfig([]byte(config(tc.providers)), "enc.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tr := ts.For("", "secrets")
			if tr == nil || ts.For("", "configmaps") != nil || ts.For("apps", "secrets") != nil {
				t.Fatal("resource lookup")
			}
			stored, err := tr.Encrypt("/registry/secrets/default/s", plain)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(stored, []byte(tc.prefix)) {
				t.Errorf("stored %q lacks prefix %q", stored, tc.prefix)
			}
			if tc.prefix != "" && bytes.Contains(stored, []byte("hunter2")) {
				t.Error("plaintext in the stored value")
			}
			got, stale, err := tr.Decrypt("/registry/secrets/default/s", stored)
			if err != nil || stale || !bytes.Equal(got, plain) {
				t.Errorf("decrypt: %q %v %v", got, stale, err)
			}
			if tc.name == "aesgcm" {
				if _, _, err := tr.Decrypt("/registry/secrets/default/other", stored); err == nil {
					t.Error("an aesgcm value read at another key")
				}
			}
			if tc.prefix != "" {
				if _, _, err := tr.Decrypt("/registry/secrets/default/s", plain); err == nil || !strings.Contains(err.Error(), "no matching prefix found") {
					t.Errorf("plaintext without identity: %v", err)
				}
			}
		})
	}
}

// TestRotation is upstream's rotation: a new key is added second (reads),
// then first (writes), then the old one dropped once every value is
// rewritten.
func TestRotation(t *testing.T) {
	ctx := "/registry/secrets/default/s"
	plain := []byte("value")
	old, _ := ParseConfig([]byte(config("  - aesgcm: {keys: [{name: old, secret: "+keyA+"}]}\n  - identity: {}\n")), "a")
	v1, _ := old.For("", "secrets").Encrypt(ctx, plain)
	unencrypted := plain

	both, err := ParseConfig([]byte(config("  - aesgcm: {keys: [{name: new, secret: "+keyB+"}, {name: old, secret: "+keyA+"}]}\n  - identity: {}\n")), "b")
	if err != nil {
		t.Fatal(err)
	}
	tr := both.For("", "secrets")
	for _, stored := range [][]byte{v1, unencrypted} {
		got, stale, err := tr.Decrypt(ctx, stored)
		if err != nil || !stale || !bytes.Equal(got, plain) {
			t.Errorf("old value %q: %q stale=%v %v", stored, got, stale, err)
		}
	}
	v2, _ := tr.Encrypt(ctx, plain)
	if !bytes.HasPrefix(v2, []byte("k8s:enc:aesgcm:v1:new:")) {
		t.Errorf("written with %q", v2[:24])
	}
	onlyNew, _ := ParseConfig([]byte(config("  - aesgcm: {keys: [{name: new, secret: "+keyB+"}]}\n")), "c")
	if _, _, err := onlyNew.For("", "secrets").Decrypt(ctx, v1); err == nil {
		t.Error("the dropped key still reads")
	}
	if got, stale, err := onlyNew.For("", "secrets").Decrypt(ctx, v2); err != nil || stale || !bytes.Equal(got, plain) {
		t.Errorf("rewritten value: %q %v %v", got, stale, err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"short key", config("  - aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}\n"), "resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 5, expected one of [16 24 32]"},
		{"not base64", config("  - aescbc: {keys: [{name: k, secret: '!!!'}]}\n"), "secrets must be base64 encoded"},
		{"secretbox 16 bytes", config("  - secretbox: {keys: [{name: k, secret: YWFhYWFhYWFhYWFhYWFhYQ==}]}\n"), "got 16, expected one of [32]"},
		{"no keys", config("  - aesgcm: {keys: []}\n"), "aesgcm.keys: Required value"},
		{"colon in name", config("  - aesgcm: {keys: [{name: 'a:b', secret: " + keyA + "}]}\n"), "should not contain ':'"},
		{"two in one", config("  - aesgcm: {keys: [{name: k, secret: " + keyA + "}]}\n    identity: {}\n"), "more than one provider specified in a single element"},
		{"no providers", "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n", "providers: Required value"},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\n", "is not apiserver.config.k8s.io/v1, Kind=EncryptionConfiguration"},
		{"typo", config("  - aesgmc: {keys: []}\n"), `unknown field "aesgmc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "enc.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
