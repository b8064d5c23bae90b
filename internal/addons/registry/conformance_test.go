package registry_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// conformanceBinary is the OCI distribution-spec conformance suite
// (github.com/opencontainers/distribution-spec/conformance, built with
// `go build` in its module dir): $OCI_CONFORMANCE, else oci-conformance
// on $PATH. Missing, the test is skipped, except in CI ($CI set), where
// it fails.
func conformanceBinary(t *testing.T) string {
	if bin := os.Getenv("OCI_CONFORMANCE"); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("oci-conformance"); err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI must install the OCI conformance suite as oci-conformance: see .ci/run")
	}
	t.Skip("oci-conformance (the OCI distribution-spec conformance suite) is not installed")
	return ""
}

// TestOCIConformance runs the distribution-spec 1.1 conformance suite
// against the registry over TLS, trusting the cluster CA (SSL_CERT_FILE:
// the suite uses Go's default roots), logged in as admin: every pull,
// push, content discovery (tags, referrers) and content management
// (delete) test must pass.
func TestOCIConformance(t *testing.T) {
	bin := conformanceBinary(t)
	r := startRegistry(t)
	results := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = results
	cmd.Env = append(os.Environ(),
		"SSL_CERT_FILE="+r.layout.CA,
		"OCI_VERSION=1.1",
		"OCI_REGISTRY="+r.host,
		"OCI_TLS=enabled",
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_USERNAME=admin",
		"OCI_PASSWORD="+r.password,
		"OCI_RESULTS_DIR="+results,
		"OCI_LOG=warn",
		// Content by sha512 digests too (sha512.go does what distribution
		// lacks for it).
		"OCI_DATA_SHA512=true",
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("oci-conformance output:\n%s", out.String())
	if summary, rerr := os.ReadFile(filepath.Join(results, "results.yaml")); rerr == nil {
		t.Logf("results.yaml:\n%s", summary)
	}
	if err != nil {
		t.Fatalf("oci-conformance: %v", err)
	}
}
