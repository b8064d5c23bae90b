package encryption

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestRotateKeys follows a rotation's three versions of the file: a new
// key first that writes, the old one still reading, and then only the
// new one, for each keyed provider; identity rules are left alone.
func TestRotateKeys(t *testing.T) {
	data := []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - secretbox: {keys: [{name: key1, secret: ` + keyA + `}]}
  - identity: {}
- resources: [configmaps.]
  providers:
  - aesgcm: {keys: [{name: key7, secret: ` + keyA + `}, {name: other, secret: ` + keyB + `}]}
- resources: [events]
  providers:
  - identity: {}
`)
	before, err := ParseConfig(data, "enc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const key = "/registry/secrets/default/s"
	old, _ := before.For("", "secrets").Encrypt(key, []byte("v"))

	added, err := AddWriteKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Describe(added)
	if err != nil {
		t.Fatal(err)
	}
	want := []WriteKey{
		{Resources: []string{"secrets"}, Provider: "secretbox", Key: "key2", ReadKeys: []string{"secretbox:key1", "identity"}},
		{Resources: []string{"configmaps."}, Provider: "aesgcm", Key: "key8", ReadKeys: []string{"aesgcm:key7", "aesgcm:other"}},
		{Resources: []string{"events"}, Provider: "identity"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after AddWriteKeys:\n got %+v\nwant %+v", got, want)
	}
	ts, err := ParseConfig(added, "enc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if v, stale, err := ts.For("", "secrets").Decrypt(key, old); err != nil || !stale || string(v) != "v" {
		t.Errorf("old value after AddWriteKeys: %q %v %v", v, stale, err)
	}
	if sealed, _ := ts.For("", "secrets").Encrypt(key, []byte("v")); !bytes.HasPrefix(sealed, []byte("k8s:enc:secretbox:v1:key2:")) {
		t.Errorf("new writes: %q", sealed[:30])
	}

	dropped, err := DropReadKeys(added)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = Describe(dropped)
	want[0].ReadKeys = []string{"identity"}
	want[1].ReadKeys = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after DropReadKeys:\n got %+v\nwant %+v", got, want)
	}
	ts, _ = ParseConfig(dropped, "enc.yaml")
	if _, _, err := ts.For("", "secrets").Decrypt(key, old); err == nil {
		t.Error("a value sealed with the dropped key still reads")
	}
}

func TestRotateKeysRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"nothing encrypted", config("  - identity: {}\n"), "no resource is encrypted"},
		{"bad file", "kind: nonsense\n", "error decoding encryption provider configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AddWriteKeys([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}
