// Package encryption is upstream's encryption at rest: an
// EncryptionConfiguration (apiserver.config.k8s.io/v1) names, per
// resource, providers in order; values are written with the first and
// read with whichever one's prefix they carry ("k8s:enc:aesgcm:v1:key1:"),
// so that a new key can be put first while the old one still reads.
package encryption

import (
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Configuration is upstream's EncryptionConfiguration.
type Configuration struct {
	APIVersion string                  `json:"apiVersion"`
	Kind       string                  `json:"kind"`
	Resources  []ResourceConfiguration `json:"resources"`
}

// ResourceConfiguration lists resources ("secrets", "configmaps.",
// "deployments.apps", "*.*") and their providers, first for writing.
type ResourceConfiguration struct {
	Resources []string                `json:"resources"`
	Providers []ProviderConfiguration `json:"providers"`
}

// ProviderConfiguration is one provider; exactly one field is set.
type ProviderConfiguration struct {
	AESGCM    *KeysConfiguration `json:"aesgcm,omitempty"`
	AESCBC    *KeysConfiguration `json:"aescbc,omitempty"`
	Secretbox *KeysConfiguration `json:"secretbox,omitempty"`
	Identity  *struct{}          `json:"identity,omitempty"`
	KMS       *struct {
		Name string `json:"name"`
	} `json:"kms,omitempty"`
}

// KeysConfiguration holds a provider's keys, first for writing.
type KeysConfiguration struct {
	Keys []Key `json:"keys"`
}

// Key is a named key, base64-encoded.
type Key struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// LoadConfig reads the EncryptionConfiguration at path and builds each
// resource's transformer; a bad key refuses with upstream's message.
func LoadConfig(path string) (Static, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading encryption provider configuration file %q: %w", path, err)
	}
	return ParseConfig(data, path)
}

// ParseConfig is LoadConfig on the file's content.
func ParseConfig(data []byte, path string) (Static, error) {
	var c Configuration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("error decoding encryption provider configuration file %q: %w", path, err)
	}
	if c.Kind != "EncryptionConfiguration" || (c.APIVersion != "apiserver.config.k8s.io/v1" && c.APIVersion != "apiserver.config.k8s.io/v1alpha1") {
		return nil, fmt.Errorf("error decoding encryption provider configuration file %q: %s, Kind=%s is not apiserver.config.k8s.io/v1, Kind=EncryptionConfiguration", path, c.APIVersion, c.Kind)
	}
	if errs := validate(&c); len(errs) > 0 {
		return nil, fmt.Errorf("error while parsing file %q: %w", path, errs.ToAggregate())
	}
	return build(&c)
}

var (
	aesKeySizes       = []int{16, 24, 32}
	secretboxKeySizes = []int{32}
)

func validate(c *Configuration) field.ErrorList {
	var errs field.ErrorList
	root := field.NewPath("resources")
	if len(c.Resources) == 0 {
		errs = append(errs, field.Required(root, "resources is a required field"))
	}
	seen := map[string]bool{}
	for i, rc := range c.Resources {
		path := root.Index(i)
		if len(rc.Resources) == 0 {
			errs = append(errs, field.Required(path.Child("resources"), "resources is a required field"))
		}
		for j, r := range rc.Resources {
			if seen[r] {
				errs = append(errs, field.Duplicate(path.Child("resources").Index(j), r))
			}
			seen[r] = true
		}
		if len(rc.Providers) == 0 {
			errs = append(errs, field.Required(path.Child("providers"), "providers is a required field"))
		}
		for j, p := range rc.Providers {
			ppath := path.Child("providers").Index(j)
			n := 0
			for _, set := range []bool{p.AESGCM != nil, p.AESCBC != nil, p.Secretbox != nil, p.Identity != nil, p.KMS != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				errs = append(errs, field.Invalid(ppath, p, "more than one provider specified in a single element, should split into different list elements"))
				continue
			}
			switch {
			case p.AESGCM != nil:
				errs = append(errs, validateKeys(p.AESGCM, ppath.Child("aesgcm", "keys"), aesKeySizes)...)
			case p.AESCBC != nil:
				errs = append(errs, validateKeys(p.AESCBC, ppath.Child("aescbc", "keys"), aesKeySizes)...)
			case p.Secretbox != nil:
				errs = append(errs, validateKeys(p.Secretbox, ppath.Child("secretbox", "keys"), secretboxKeySizes)...)
			case p.KMS != nil:
				errs = append(errs, field.NotSupported(ppath.Child("kms"), p.KMS.Name, []string{"aesgcm", "aescbc", "secretbox", "identity"}))
			}
		}
	}
	return errs
}

func validateKeys(kc *KeysConfiguration, path *field.Path, sizes []int) field.ErrorList {
	var errs field.ErrorList
	if len(kc.Keys) == 0 {
		return append(errs, field.Required(path, "keys is a required field"))
	}
	names := map[string]bool{}
	for i, k := range kc.Keys {
		kp := path.Index(i)
		if k.Name == "" {
			errs = append(errs, field.Required(kp.Child("name"), "key name is required"))
		} else if strings.Contains(k.Name, ":") {
			errs = append(errs, field.Invalid(kp.Child("name"), k.Name, "should not contain ':'"))
		} else if names[k.Name] {
			errs = append(errs, field.Duplicate(kp.Child("name"), k.Name))
		}
		names[k.Name] = true
		if k.Secret == "" {
			errs = append(errs, field.Required(kp.Child("secret"), "secret is required"))
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			errs = append(errs, field.Invalid(kp.Child("secret"), "REDACTED", "secrets must be base64 encoded"))
			continue
		}
		if !slices.Contains(sizes, len(raw)) {
			errs = append(errs, field.Invalid(kp.Child("secret"), "REDACTED", fmt.Sprintf("secret is not of the expected length, got %d, expected one of %v", len(raw), sizes)))
		}
	}
	return errs
}
