package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kemudi/kemudi/internal/addons/registry"
	"github.com/kemudi/kemudi/internal/cluster"
)

// readySummary is what `kemudi server` tells the person who started it
// once the cluster can be used: where the files they need are and the
// next command to type. Plain lines on stderr, after the structured log.
type readySummary struct {
	DataDir    string
	Kubeconfig string
	// Node is the node this server runs ("" with --disable-agent).
	Node string
	// APIURL is where other machines reach the API (the join command).
	APIURL string
	// Registry is the embedded registry's address ("" when it is off).
	Registry string
	Took     time.Duration
}

func (s readySummary) write(w io.Writer) {
	var b strings.Builder
	if s.Node != "" {
		fmt.Fprintf(&b, "\nkemudi is ready: node %s is Ready (%s after start).\n", s.Node, s.Took.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(&b, "\nkemudi is ready: the control plane answers (%s after start); no node runs here (--disable-agent).\n", s.Took.Round(100*time.Millisecond))
	}
	kubectl := "kemudi kubectl get nodes"
	if s.Kubeconfig != defaultKubeconfig {
		kubectl = "kemudi kubectl --kubeconfig " + s.Kubeconfig + " get nodes"
	}
	fmt.Fprintf(&b, "  admin kubeconfig  %s\n", s.Kubeconfig)
	fmt.Fprintf(&b, "                    %s\n", kubectl)
	token := filepath.Join(s.DataDir, cluster.NodeTokenFile)
	fmt.Fprintf(&b, "  node token        %s\n", token)
	fmt.Fprintf(&b, "                    another machine joins with: kemudi agent --server %s --token-file node-token (a copy of it)\n", s.APIURL)
	if s.Registry != "" {
		// The password file exists from the registry's first start on
		// (the user may have removed it since).
		password := registry.NewLayout(s.DataDir).Password
		fmt.Fprintf(&b, "  registry          %s (TLS with the cluster CA), image names %s/NAME:TAG\n", s.Registry, s.Registry)
		if _, err := os.Stat(password); err == nil {
			fmt.Fprintf(&b, "                    user %s, password in %s:\n", registry.AdminUser, password)
			fmt.Fprintf(&b, "                    kemudi image login %s -u %s --password-stdin < %s\n", s.Registry, registry.AdminUser, password)
		}
		dataDir := ""
		if s.DataDir != cluster.DefaultServerOptions().DataDir {
			dataDir = " --data-dir " + s.DataDir
		}
		fmt.Fprintf(&b, "                    more users: kemudi registry user add NAME --password-stdin%s\n", dataDir)
	}
	fmt.Fprint(&b, "Stop with Ctrl-C; containers stop with their pods.\n\n")
	io.WriteString(w, b.String())
}

// announceReady waits until the node is Ready (or, without a node, until
// the API answers) and writes the summary. It gives up silently when ctx
// ends: the server is stopping.
func announceReady(ctx context.Context, w io.Writer, s readySummary, started time.Time) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	if s.APIURL, err = advertisedURL(ctx, client); err != nil {
		return
	}
	if s.Node != "" {
		if err := waitNodeReady(ctx, client, s.Node); err != nil {
			return
		}
	}
	s.Took = time.Since(started)
	s.write(w)
}

// advertisedURL is the API's address as the cluster publishes it: the
// kubernetes service's endpoint.
func advertisedURL(ctx context.Context, client kubernetes.Interface) (string, error) {
	slice, err := client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if len(slice.Endpoints) == 0 || len(slice.Endpoints[0].Addresses) == 0 || len(slice.Ports) == 0 || slice.Ports[0].Port == nil {
		return "", fmt.Errorf("endpoint slice default/kubernetes has no address")
	}
	return "https://" + net.JoinHostPort(slice.Endpoints[0].Addresses[0], strconv.Itoa(int(*slice.Ports[0].Port))), nil
}

// waitNodeReady watches the node until its Ready condition is True.
func waitNodeReady(ctx context.Context, client kubernetes.Interface, name string) error {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return client.CoreV1().Nodes().List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.CoreV1().Nodes().Watch(ctx, o)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Node{}, nil, func(e watch.Event) (bool, error) {
		n, ok := e.Object.(*corev1.Node)
		if !ok {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	return err
}
