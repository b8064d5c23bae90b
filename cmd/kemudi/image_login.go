package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri"
)

type loginOptions struct {
	user, password string
	passwordStdin  bool
}

func newImageLoginCommand(withConn imageConnFunc) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login HOST",
		Short: "Log in to a registry: check the credentials and store them in Docker's config.json",
		Long: `Login checks the credentials against the registry HOST (Docker's token flow,
or Basic auth) and stores them in $DOCKER_CONFIG/config.json (default
~/.docker/config.json, mode 0600), where docker, podman, skopeo and crane
find them too. The runtime does the check, trusting what the node trusts
(its registries.yaml: the cluster CA for the embedded registry).
Credentials the registry refuses are not stored.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := registryHost(args[0])
			if err != nil {
				return err
			}
			if err := o.complete(cmd.InOrStdin(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				return login(ctx, conn, host, o, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringVarP(&o.user, "username", "u", "", "user name")
	cmd.Flags().StringVarP(&o.password, "password", "p", "", "password (visible to other users of the machine: prefer --password-stdin)")
	cmd.Flags().BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

// complete asks a terminal for what the flags left out.
func (o *loginOptions) complete(stdin io.Reader, stderr io.Writer) error {
	if o.password != "" && o.passwordStdin {
		return fmt.Errorf("--password and --password-stdin are mutually exclusive")
	}
	if o.password != "" {
		fmt.Fprintln(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	f, isFile := stdin.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	if o.passwordStdin {
		if o.user == "" {
			return fmt.Errorf("--password-stdin needs --username")
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
		o.password = strings.TrimRight(string(b), "\r\n")
	}
	if o.user == "" {
		if !tty {
			return fmt.Errorf("no user name: give --username")
		}
		fmt.Fprint(stderr, "Username: ")
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil {
			return fmt.Errorf("read user name: %w", err)
		}
		o.user = strings.TrimSpace(line)
	}
	if o.password == "" {
		if !tty {
			return errNoPassword
		}
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
		o.password = string(b)
	}
	if o.user == "" || o.password == "" {
		return fmt.Errorf("user name and password must not be empty")
	}
	return nil
}

func login(ctx context.Context, conn *grpc.ClientConn, host string, o loginOptions, out io.Writer) error {
	err := cri.LoginOver(ctx, conn, &runtimeapi.AuthConfig{Username: o.user, Password: o.password, ServerAddress: host})
	if err != nil {
		return errors.New(runtimeMessage("login "+host, err)) // "login HOST: ...: unauthorized: ..."
	}
	if err := storeCredentials(host, o.user, o.password); err != nil {
		return err
	}
	fmt.Fprintln(out, "Login Succeeded")
	return nil
}

func newImageLogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout HOST",
		Short: "Remove the stored credentials of a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := registryHost(args[0])
			if err != nil {
				return err
			}
			had, err := eraseCredentials(host)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(cmd.OutOrStdout(), "Not logged in to %s\n", host)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removing login credentials for %s\n", host)
			return nil
		},
	}
}
