package testimages

import (
	"os"
	"os/exec"
	"testing"
)

// Tool is the path of a program a test drives (podman, skopeo, htpasswd,
// mmdebstrap). Without it the test is skipped, except in CI (CI set),
// where .ci/run must have installed debPackage: there it fails.
func Tool(tb testing.TB, name, debPackage string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI must install %s (Debian package %s): see .ci/run", name, debPackage)
		}
		tb.Skipf("%s is not installed (Debian package %s)", name, debPackage)
	}
	return p
}

// GoTool is Tool for a program .ci/run builds with Go (helm, critest),
// install saying how.
func GoTool(tb testing.TB, name, install string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI must install %s (%s): see .ci/run", name, install)
		}
		tb.Skipf("%s is not installed (%s)", name, install)
	}
	return p
}
