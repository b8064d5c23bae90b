package podsecurity

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	psaconfig "k8s.io/pod-security-admission/admission/api"
	"k8s.io/pod-security-admission/admission/api/load"
	"k8s.io/pod-security-admission/admission/api/validation"
)

// PluginName is the plugin's name in an AdmissionConfiguration.
const PluginName = "PodSecurity"

// admissionConfiguration is upstream's apiserver.config.k8s.io/v1
// AdmissionConfiguration, the file --admission-control-config-file names:
// each plugin's configuration, inline or in a file of its own.
type admissionConfiguration struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Plugins    []struct {
		Name          string          `json:"name"`
		Path          string          `json:"path"`
		Configuration json.RawMessage `json:"configuration"`
	} `json:"plugins"`
}

// LoadConfig reads the PodSecurity plugin's configuration from the
// AdmissionConfiguration file at path. With no file, or none for the
// plugin in it, the defaults are upstream's: everything privileged, no
// exemptions.
func LoadConfig(path string) (*psaconfig.PodSecurityConfiguration, error) {
	data, err := pluginConfig(path)
	if err != nil {
		return nil, err
	}
	cfg, err := load.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("admission control config %s: plugin %s: %w", path, PluginName, err)
	}
	if errs := validation.ValidatePodSecurityConfiguration(cfg); len(errs) > 0 {
		return nil, fmt.Errorf("admission control config %s: plugin %s: %w", path, PluginName, errs.ToAggregate())
	}
	return cfg, nil
}

// pluginConfig returns the raw configuration of the PodSecurity plugin,
// nil for the defaults.
func pluginConfig(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read admission control config: %w", err)
	}
	var ac admissionConfiguration
	if err := yaml.Unmarshal(raw, &ac); err != nil {
		return nil, fmt.Errorf("admission control config %s: %w", path, err)
	}
	switch {
	case ac.Kind != "AdmissionConfiguration":
		return nil, fmt.Errorf("admission control config %s: kind %q is not AdmissionConfiguration", path, ac.Kind)
	case ac.APIVersion != "apiserver.config.k8s.io/v1" && ac.APIVersion != "apiserver.k8s.io/v1alpha1":
		return nil, fmt.Errorf("admission control config %s: apiVersion %q is not apiserver.config.k8s.io/v1", path, ac.APIVersion)
	}
	for _, p := range ac.Plugins {
		if p.Name != PluginName {
			continue
		}
		if len(p.Configuration) > 0 && string(p.Configuration) != "null" {
			return p.Configuration, nil
		}
		if p.Path == "" {
			return nil, nil
		}
		file := p.Path
		if !filepath.IsAbs(file) {
			// Relative to the AdmissionConfiguration, as upstream.
			file = filepath.Join(filepath.Dir(path), file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("admission control config %s: plugin %s: %w", path, PluginName, err)
		}
		return data, nil
	}
	return nil, nil
}
