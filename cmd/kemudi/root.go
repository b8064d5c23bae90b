package main

import (
	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/component"
)

func newRootCommand() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:           "kemudi",
		Short:         "kemudi runs a Kubernetes cluster from one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			component.SetupLogging(logLevel)
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(newServerCommand(), newAPIServerCommand(), newControllerManagerCommand(), newKubectlCommand(), newSimNodesCommand(), newSchedulerCommand(), newRuntimeCommand(), newImageCommand(), newKubeletCommand(), newAgentCommand(), newProxyCommand(), newLBAnnouncerCommand(), newDNSCommand(), newCloudControllerManagerCommand(), newRegistryCommand(), newCertificateCommand(), newSecretsEncryptCommand(), newTokenCommand(), newNodeCommand())
	return root
}
