package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// defaultKubeconfig is where `kemudi server` writes the admin kubeconfig.
const defaultKubeconfig = "/var/lib/kemudi/admin.kubeconfig"

func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run kubectl against this cluster (finds the admin kubeconfig by itself)",
		DisableFlagParsing: true,
		Run: func(_ *cobra.Command, args []string) {
			os.Exit(runKubectl(args))
		},
	}
}

// runKubectl runs the real kubectl. Without KUBECONFIG it uses the admin
// kubeconfig of a server on this machine, when there is one.
func runKubectl(args []string) int {
	if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
		if _, err := os.Stat(defaultKubeconfig); err == nil {
			os.Setenv("KUBECONFIG", defaultKubeconfig)
		} else if home, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(home, ".kube", "config")); err != nil {
				os.Setenv("KUBECONFIG", defaultKubeconfig)
			}
		}
	}
	cmd := kubectlcmd.NewDefaultKubectlCommand()
	cmd.SetArgs(args)
	if err := cli.RunNoErrOutput(cmd); err != nil {
		cmdutil.CheckErr(err)
		return 1
	}
	return 0
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || len(a) > 13 && a[:13] == "--kubeconfig=" {
			return true
		}
	}
	return false
}
