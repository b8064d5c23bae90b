package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestKubeletStaticPodAndStatsFlags: the flags a user writes on the
// command line reach the kubelet's options, with upstream's syntax
// for --manifest-url-header (repeatable, a key given again gets another
// value) and upstream's defaults when left out.
func TestKubeletStaticPodAndStatsFlags(t *testing.T) {
	parse := func(args ...string) kubelet.Options {
		t.Helper()
		o := kubelet.DefaultOptions()
		var h housekeepingFlags
		f := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
		h.register(f, &o)
		if err := f.Parse(args); err != nil {
			t.Fatalf("parse %s: %v", strings.Join(args, " "), err)
		}
		if err := h.apply(&o); err != nil {
			t.Fatalf("apply %s: %v", strings.Join(args, " "), err)
		}
		return o
	}
	o := parse()
	if o.ManifestURL != "" || o.HTTPCheckFrequency != 20*time.Second || o.VolumeStatsAggPeriod != time.Minute {
		t.Errorf("defaults: manifest URL %q, http-check-frequency %s, volume-stats-agg-period %s", o.ManifestURL, o.HTTPCheckFrequency, o.VolumeStatsAggPeriod)
	}
	o = parse("--manifest-url=http://127.0.0.1:8080/pods", "--manifest-url-header", "a:hello,b:again,c:world",
		"--manifest-url-header", "b:beautiful", "--http-check-frequency=5s", "--volume-stats-agg-period=-1s")
	want := map[string][]string{"a": {"hello"}, "b": {"again", "beautiful"}, "c": {"world"}}
	if o.ManifestURL != "http://127.0.0.1:8080/pods" || !reflect.DeepEqual(o.ManifestURLHeader, want) ||
		o.HTTPCheckFrequency != 5*time.Second || o.VolumeStatsAggPeriod != -time.Second {
		t.Errorf("parsed: URL %q, headers %v (want %v), http-check-frequency %s, volume-stats-agg-period %s",
			o.ManifestURL, o.ManifestURLHeader, want, o.HTTPCheckFrequency, o.VolumeStatsAggPeriod)
	}
}

// TestEvictionHardDefaults: `kemudi kubelet` keeps upstream's disk
// thresholds; a kemudi node (server, agent) has k3s's, as its help says.
func TestEvictionHardDefaults(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string
	}{
		{"kubelet", "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%"},
		{"agent", "memory.available<100Mi,nodefs.available<5%,nodefs.inodesFree<5%,imagefs.available<5%"},
		{"server", "memory.available<100Mi,nodefs.available<5%,nodefs.inodesFree<5%,imagefs.available<5%"},
	} {
		cmd := map[string]func() *cobra.Command{"kubelet": newKubeletCommand, "agent": newAgentCommand, "server": newServerCommand}[tc.cmd]()
		f := cmd.Flags().Lookup("eviction-hard")
		if f == nil {
			t.Fatalf("kemudi %s: no --eviction-hard", tc.cmd)
		}
		if f.DefValue != tc.want {
			t.Errorf("kemudi %s --eviction-hard defaults to %q, want %q", tc.cmd, f.DefValue, tc.want)
		}
	}
}

// Every command that runs a kubelet takes upstream's
// --node-status-report-frequency, with its 5m default.
func TestNodeStatusReportFrequency(t *testing.T) {
	for name, newCmd := range map[string]func() *cobra.Command{"kubelet": newKubeletCommand, "agent": newAgentCommand, "server": newServerCommand} {
		cmd := newCmd()
		f := cmd.Flags().Lookup("node-status-report-frequency")
		if f == nil {
			t.Errorf("kemudi %s: no --node-status-report-frequency", name)
			continue
		}
		if f.DefValue != "5m0s" {
			t.Errorf("kemudi %s --node-status-report-frequency defaults to %q, want 5m0s", name, f.DefValue)
		}
		if err := cmd.Flags().Parse([]string{"--node-status-report-frequency", "2s"}); err != nil || f.Value.String() != "2s" {
			t.Errorf("kemudi %s --node-status-report-frequency 2s: %v, value %s", name, err, f.Value)
		}
	}
}
