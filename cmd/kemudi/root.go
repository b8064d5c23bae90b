package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

func newRootCommand() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:           "kemudi",
		Short:         "kemudi runs a Kubernetes cluster from one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			setupLogging(logLevel)
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(newServerCommand(), newAPIServerCommand(), newControllerManagerCommand(), newKubectlCommand(), newSimNodesCommand(), newSchedulerCommand(), newRuntimeCommand(), newImageCommand(), newKubeletCommand(), newAgentCommand(), newProxyCommand(), newLBAnnouncerCommand(), newDNSCommand(), newCloudControllerManagerCommand(), newRegistryCommand(), newCertificateCommand(), newSecretsEncryptCommand(), newTokenCommand(), newNodeCommand())
	return root
}

// setupLogging sends slog and klog (client-go's logger) to stderr as
// structured text.
func setupLogging(level string) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	slog.SetDefault(logger)
	klog.SetSlogLogger(slog.New(quietCancellation{logger.Handler()}))
}
