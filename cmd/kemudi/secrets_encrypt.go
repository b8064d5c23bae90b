package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/storage/encryption"
)

// secretsEncryptOptions locate the configuration and the API server that
// follows it.
type secretsEncryptOptions struct {
	dataDir    string
	config     string // empty: the generated one in the data dir
	kubeconfig string // empty: the data dir's admin.kubeconfig
	timeout    time.Duration
}

func (o *secretsEncryptOptions) configPath() string {
	if o.config != "" {
		return o.config
	}
	return cluster.DefaultEncryptionConfig(o.dataDir)
}

func (o *secretsEncryptOptions) restConfig() (*rest.Config, error) {
	path := o.kubeconfig
	if path == "" {
		path = filepath.Join(o.dataDir, "admin.kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}

// newSecretsEncryptCommand is `kemudi secrets-encrypt`, as k3s's: what the
// encryption at rest uses, and key rotation with no restart.
func newSecretsEncryptCommand() *cobra.Command {
	o := &secretsEncryptOptions{}
	cmd := &cobra.Command{Use: "secrets-encrypt", Short: "Show and rotate the keys that seal secrets at rest"}
	cmd.PersistentFlags().StringVar(&o.dataDir, "data-dir", cluster.DefaultServerOptions().DataDir, "the server's data dir")
	cmd.PersistentFlags().StringVar(&o.config, "encryption-provider-config", "", "the server's EncryptionConfiguration (default <data-dir>/tls/encryption-config.yaml)")
	cmd.PersistentFlags().StringVar(&o.kubeconfig, "kubeconfig", "", "an admin kubeconfig (default <data-dir>/admin.kubeconfig)")
	cmd.PersistentFlags().DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for the API server to load a new configuration")
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Which provider and key each resource is written with, and whether the API server uses this configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return secretsEncryptStatus(cmd.Context(), cmd.OutOrStdout(), o)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate-keys",
		Short: "Put a new key first, rewrite every encrypted object with it, then drop the old keys",
		Long: `rotate-keys puts a new key first in the configuration, waits until the API server
has reloaded it, rewrites every object of the encrypted resources through the API
(so that each is sealed with the new key), and then drops the old keys. If a step
fails, the old keys stay and rotate-keys can be run again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return secretsEncryptRotate(cmd.Context(), cmd.OutOrStdout(), o)
		},
	})
	return cmd
}

func secretsEncryptStatus(ctx context.Context, w io.Writer, o *secretsEncryptOptions) error {
	path := o.configPath()
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the encryption configuration: %w", err)
	}
	rules, err := encryption.Describe(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Encryption configuration: %s\n", path)
	fmt.Fprintf(w, "In use by the API server: %s\n", inUse(ctx, o, data))
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "RESOURCES\tWRITES WITH\tALSO READS")
	for _, r := range rules {
		writes := r.Provider
		if r.Key != "" {
			writes += ":" + r.Key
		}
		reads := strings.Join(r.ReadKeys, ", ")
		if reads == "" {
			reads = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.Join(r.Resources, ","), writes, reads)
	}
	return tw.Flush()
}

// inUse says whether the API server has loaded the configuration data.
func inUse(ctx context.Context, o *secretsEncryptOptions, data []byte) string {
	cfg, err := o.restConfig()
	if err != nil {
		return "unknown: " + err.Error()
	}
	hashes, err := serverConfigHashes(ctx, cfg)
	switch {
	case err != nil:
		return "unknown: " + err.Error()
	case len(hashes) == 0:
		return "unknown: the API server does not follow its configuration's file (start it with --encryption-provider-config-automatic-reload)"
	case hashes[encryption.ConfigHash(data)]:
		return "yes"
	}
	return "not yet: the API server has not reloaded this version of the file"
}

func secretsEncryptRotate(ctx context.Context, w io.Writer, o *secretsEncryptOptions) error {
	path := o.configPath()
	cfg, err := o.restConfig()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the encryption configuration: %w", err)
	}
	// Nothing changes unless the server is known to follow the file:
	// otherwise new keys would wait for a restart while old ones went.
	hashes, err := serverConfigHashes(ctx, cfg)
	if err != nil {
		return err
	}
	if !hashes[encryption.ConfigHash(data)] {
		if len(hashes) == 0 {
			return fmt.Errorf("the API server does not follow %s: start it with --encryption-provider-config-automatic-reload, then run rotate-keys again", path)
		}
		return fmt.Errorf("the API server has not loaded %s as it is now; run rotate-keys again once `kemudi secrets-encrypt status` says it is in use", path)
	}

	added, err := encryption.AddWriteKeys(data)
	if err != nil {
		return err
	}
	if err := writeConfigAndWait(ctx, cfg, path, added, o.timeout); err != nil {
		return err
	}
	rules, _ := encryption.Describe(added)
	for _, r := range rules {
		if r.Key != "" {
			fmt.Fprintf(w, "%s: new writes use %s:%s\n", strings.Join(r.Resources, ","), r.Provider, r.Key)
		}
	}

	written, err := encryption.ParseConfig(added, path)
	if err != nil {
		return err
	}
	counts, err := rewriteEncrypted(ctx, cfg, written)
	for _, c := range counts {
		fmt.Fprintf(w, "%s: %d rewritten with the new key\n", c.resource, c.n)
	}
	if err != nil {
		return fmt.Errorf("rewrite (the old keys stay; run rotate-keys again): %w", err)
	}

	dropped, err := encryption.DropReadKeys(added)
	if err != nil {
		return err
	}
	if err := writeConfigAndWait(ctx, cfg, path, dropped, o.timeout); err != nil {
		return err
	}
	fmt.Fprintln(w, "old keys removed; rotation done")
	return nil
}

// writeConfigAndWait replaces the file atomically (keeping it 0600) and
// waits until the API server reports it loaded.
func writeConfigAndWait(ctx context.Context, cfg *rest.Config, path string, data []byte, timeout time.Duration) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write the encryption configuration: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the encryption configuration: %w", err)
	}
	want := encryption.ConfigHash(data)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		hashes, err := serverConfigHashes(ctx, cfg)
		if err == nil && hashes[want] {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server did not load the new %s within %s (last error: %v)", path, timeout, err)
		case <-tick.C:
		}
	}
}

// serverConfigHashes reads which encryption configurations the API
// server reports in use, from upstream's last_config_info metric.
func serverConfigHashes(ctx context.Context, cfg *rest.Config) (map[string]bool, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	body, err := disc.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the API server's /metrics: %w", err)
	}
	const metric = "apiserver_encryption_config_controller_last_config_info{"
	hashes := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		// hash, not apiserver_id_hash, the label before it.
		if _, rest, ok := strings.Cut(line, `,hash="`); ok {
			if h, _, ok := strings.Cut(rest, `"`); ok {
				hashes[h] = true
			}
		}
	}
	return hashes, sc.Err()
}

type rewriteCount struct {
	resource string
	n        int
}

// rewriteEncrypted writes every object of each resource t encrypts back
// unchanged: the API server seals a value read with an older key anew
// even when nothing else changed.
func rewriteEncrypted(ctx context.Context, cfg *rest.Config, t encryption.Transformers) ([]rewriteCount, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := disc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var counts []rewriteCount
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || t.For(gv.Group, r.Name) == nil || !hasVerbs(r.Verbs, "list", "update") {
				continue
			}
			gvr := gv.WithResource(r.Name)
			n, err := rewriteAll(ctx, dyn.Resource(gvr))
			name := gvr.GroupResource().String()
			counts = append(counts, rewriteCount{name, n})
			if err != nil {
				return counts, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return counts, nil
}

func rewriteAll(ctx context.Context, c dynamic.NamespaceableResourceInterface) (int, error) {
	n := 0
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := c.List(ctx, opts)
		if err != nil {
			return n, err
		}
		for i := range list.Items {
			item := &list.Items[i]
			ri := c.Namespace(item.GetNamespace())
			// A conflict means someone wrote it since the list: that
			// write sealed it with the new key already.
			if _, err := ri.Update(ctx, item, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return n, fmt.Errorf("rewrite %s/%s: %w", item.GetNamespace(), item.GetName(), err)
			}
			n++
		}
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			return n, nil
		}
	}
}

func hasVerbs(verbs metav1.Verbs, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range verbs {
			found = found || v == w
		}
		if !found {
			return false
		}
	}
	return true
}
