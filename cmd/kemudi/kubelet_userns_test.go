package main

import (
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestUsernsIDsPerPodFlag: every command that runs a kubelet takes
// --userns-ids-per-pod with upstream's default, 65536, and exits at
// once with upstream's reason when the value is not one upstream takes.
func TestUsernsIDsPerPodFlag(t *testing.T) {
	for _, name := range []string{"kubelet", "agent", "server"} {
		cmd := map[string]func() *cobra.Command{"kubelet": newKubeletCommand, "agent": newAgentCommand, "server": newServerCommand}[name]()
		f := cmd.Flags().Lookup("userns-ids-per-pod")
		if f == nil {
			t.Errorf("kemudi %s: no --userns-ids-per-pod", name)
			continue
		}
		if f.DefValue != "65536" {
			t.Errorf("kemudi %s --userns-ids-per-pod defaults to %s, want 65536", name, f.DefValue)
		}
		for value, want := range map[string]string{
			"0":          "--userns-ids-per-pod 0: invalid configuration: userNamespaces.idsPerPod must not be less than 65536",
			"100000":     "--userns-ids-per-pod 100000: invalid configuration: userNamespaces.idsPerPod must be a multiple of 65536",
			"4294967296": "--userns-ids-per-pod 4294967296: invalid configuration: userNamespaces.idsPerPod must not be more than 4294967295",
		} {
			root := newRootCommand()
			root.SetArgs([]string{name, "--data-dir", t.TempDir(), "--userns-ids-per-pod", value})
			if name == "kubelet" {
				root.SetArgs([]string{name, "--root-dir", t.TempDir(), "--userns-ids-per-pod", value})
			}
			if err := root.Execute(); err == nil || err.Error() != want {
				t.Errorf("kemudi %s --userns-ids-per-pod %s: %v, want %q", name, value, err, want)
			}
		}
	}

	var kf kubeletFlags
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	kf.register(fs, kubelet.DefaultOptions())
	if err := fs.Parse([]string{"--userns-ids-per-pod", "131072"}); err != nil {
		t.Fatal(err)
	}
	o, err := kf.options()
	if err != nil || o.UsernsIDsPerPod != 131072 {
		t.Errorf("--userns-ids-per-pod 131072: %d, %v", o.UsernsIDsPerPod, err)
	}
}
