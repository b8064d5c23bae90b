package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/cluster"
)

// tokenOptions locate the API server; createTokenOptions describe a new
// token (kubeadm token create's flags).
type tokenOptions struct {
	dataDir, kubeconfig string
}

type createTokenOptions struct {
	ttl         time.Duration
	usages      []string
	groups      []string
	description string
}

func (o *tokenOptions) client() (kubernetes.Interface, error) {
	path := o.kubeconfig
	if path == "" {
		path = filepath.Join(o.dataDir, "admin.kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return kubernetes.NewForConfig(cfg)
}

// newTokenCommand is `kemudi token`, as kubeadm token: bootstrap tokens
// for joining nodes (authentication) and for trusting cluster-info
// (signing).
func newTokenCommand() *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{Use: "token", Short: "Create, list and delete bootstrap tokens"}
	cmd.PersistentFlags().StringVar(&o.dataDir, "data-dir", cluster.DefaultServerOptions().DataDir, "the server's data dir")
	cmd.PersistentFlags().StringVar(&o.kubeconfig, "kubeconfig", "", "an admin kubeconfig (default <data-dir>/admin.kubeconfig)")
	c := &createTokenOptions{}
	create := &cobra.Command{
		Use:   "create [TOKEN]",
		Short: "Create a bootstrap token (random unless given as [a-z0-9]{6}.[a-z0-9]{16}) and print it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := o.client()
			if err != nil {
				return err
			}
			return createToken(cmd.Context(), cmd.OutOrStdout(), client, args, c, time.Now())
		},
	}
	create.Flags().DurationVar(&c.ttl, "ttl", 24*time.Hour, "how long the token is valid (0: forever)")
	create.Flags().StringSliceVar(&c.usages, "usages", []string{"signing", "authentication"}, "what the token may be used for: signing (cluster-info), authentication")
	create.Flags().StringSliceVar(&c.groups, "groups", []string{cluster.NodeTokenGroup}, "extra groups the token authenticates with (system:bootstrappers:...)")
	create.Flags().StringVar(&c.description, "description", "", "a description of the token's use")
	cmd.AddCommand(create, &cobra.Command{
		Use:   "list",
		Short: "List the bootstrap tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := o.client()
			if err != nil {
				return err
			}
			return listTokens(cmd.Context(), cmd.OutOrStdout(), client, time.Now())
		},
	}, &cobra.Command{
		Use:   "delete TOKEN-ID|TOKEN...",
		Short: "Delete bootstrap tokens",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := o.client()
			if err != nil {
				return err
			}
			return deleteTokens(cmd.Context(), cmd.OutOrStdout(), client, args)
		},
	})
	return cmd
}

func createToken(ctx context.Context, w io.Writer, client kubernetes.Interface, args []string, o *createTokenOptions, now time.Time) error {
	for _, u := range o.usages {
		if u != "signing" && u != "authentication" {
			return fmt.Errorf("usage %q: want signing or authentication", u)
		}
	}
	var tok bootstrap.Token
	var err error
	if len(args) == 1 {
		tok, err = bootstrap.ParseToken(args[0])
	} else {
		tok, err = bootstrap.NewToken()
	}
	if err != nil {
		return err
	}
	so := bootstrap.SecretOptions{Description: o.description, ExtraGroups: o.groups, Signing: slices.Contains(o.usages, "signing")}
	if o.ttl > 0 {
		exp := now.Add(o.ttl)
		so.Expires = &exp
	}
	secret := bootstrap.SecretFor(tok, so)
	if !slices.Contains(o.usages, "authentication") {
		delete(secret.Data, bootstrap.KeyUsageAuth)
	}
	if _, err := bootstrap.ExtraGroups(secret); err != nil {
		return err
	}
	if _, err := client.CoreV1().Secrets(bootstrap.Namespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create bootstrap token %s: %w", tok.ID, err)
	}
	_, err = fmt.Fprintln(w, tok.String())
	return err
}

// listTokens prints kubeadm token list's table.
func listTokens(ctx context.Context, w io.Writer, client kubernetes.Interface, now time.Time) error {
	list, err := client.CoreV1().Secrets(bootstrap.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeBootstrapToken)})
	if err != nil {
		return fmt.Errorf("list bootstrap tokens: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "TOKEN\tTTL\tEXPIRES\tUSAGES\tDESCRIPTION\tEXTRA GROUPS")
	for i := range list.Items {
		s := &list.Items[i]
		tok := bootstrap.Token{ID: string(s.Data[bootstrap.KeyTokenID]), Secret: string(s.Data[bootstrap.KeyTokenSecret])}
		ttl, expires := "<forever>", "<never>"
		if exp, ok := bootstrap.Expiration(s); ok {
			ttl, expires = "<invalid>", exp.UTC().Format(time.RFC3339)
			if left := exp.Sub(now); left > 0 {
				ttl = left.Round(time.Second).String()
			}
		}
		var usages []string
		for _, u := range []struct{ key, name string }{{bootstrap.KeyUsageAuth, "authentication"}, {bootstrap.KeyUsageSigning, "signing"}} {
			if string(s.Data[u.key]) == "true" {
				usages = append(usages, u.name)
			}
		}
		desc := string(s.Data[bootstrap.KeyDescription])
		if desc == "" {
			desc = "<none>"
		}
		groups := string(s.Data[bootstrap.KeyExtraGroups])
		if groups == "" {
			groups = "<none>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", tok, ttl, expires, strings.Join(usages, ","), desc, groups)
	}
	return tw.Flush()
}

func deleteTokens(ctx context.Context, w io.Writer, client kubernetes.Interface, args []string) error {
	for _, a := range args {
		id, _, _ := strings.Cut(a, ".")
		err := client.CoreV1().Secrets(bootstrap.Namespace).Delete(ctx, bootstrap.SecretPrefix+id, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("bootstrap token %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("delete bootstrap token %q: %w", id, err)
		}
		fmt.Fprintf(w, "bootstrap token %q deleted\n", id)
	}
	return nil
}
