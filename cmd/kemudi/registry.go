package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/addons/registry"
	"github.com/kemudi/kemudi/internal/cluster"
)

// newRegistryCommand is `kemudi registry`: the embedded registry's users
// and garbage collection, on the server's data dir.
func newRegistryCommand() *cobra.Command {
	dataDir := cluster.DefaultServerOptions().DataDir
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Manage the registry kemudi server runs on :5000: its users, garbage collection",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", dataDir, "the server's data dir (the registry is in <data-dir>/registry)")
	layout := func() registry.Layout { return registry.NewLayout(dataDir) }
	cmd.AddCommand(newRegistryUserCommand(layout), newRegistryGCCommand(layout))
	return cmd
}

func newRegistryUserCommand(layout func() registry.Layout) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Add, list and remove the registry's users (a running registry sees changes at the next login)"}
	var passwordStdin bool
	add := &cobra.Command{
		Use:   "add NAME --password-stdin",
		Short: "Add a user, or set its password, reading the password from stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return errors.New("give the password on stdin with --password-stdin (e.g. echo \"$PW\" | kemudi registry user add NAME --password-stdin)")
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			if err := registry.AddUser(layout().Users, args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registry user %s saved\n", args[0])
			return nil
		},
	}
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin (its first line)")
	list := &cobra.Command{
		Use: "list", Short: "List the users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := registry.ListUsers(layout().Users)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		},
	}
	rm := &cobra.Command{
		Use: "rm NAME", Aliases: []string{"remove", "delete"}, Short: "Remove a user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := registry.RemoveUser(layout().Users, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registry user %s removed\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, rm)
	return cmd
}

// readPassword reads the first line of r, without its line end.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on stdin")
	}
	return pw, nil
}

func newRegistryGCCommand(layout func() registry.Layout) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Remove the blobs no manifest references (of deleted images, abandoned pushes); run it while nothing pushes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logrusToSlog(slog.Default())
			if err := registry.CollectGarbage(cmd.Context(), layout()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "registry garbage collected")
			return nil
		},
	}
}

// registryFlags are `kemudi server`'s registry flags.
func addRegistryFlags(fs *pflag.FlagSet, o *cluster.RegistryOptions) {
	fs.IntVar(&o.Port, "registry-port", o.Port, "port of the embedded OCI registry (TLS, certificate from the cluster CA; --disable registry turns it off)")
	fs.DurationVar(&o.GCInterval, "registry-gc-interval", o.GCInterval, "how often the registry removes unreferenced blobs (0: hourly; negative: never)")
}
