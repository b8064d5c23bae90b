package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"

	"github.com/kemudi/kemudi/internal/cloud/local"
)

// nodeRemoveOptions are kemudi node remove's flags.
type nodeRemoveOptions struct {
	force       bool
	timeout     time.Duration
	gracePeriod int
	// localHost is this machine's node name when the command runs on
	// the server (its admin kubeconfig); empty otherwise.
	localHost string
}

// serverNode says why node is the server's own ("" when it is not): one
// of its addresses serves the API (the default/kubernetes endpoints),
// or it is named for the machine the server runs on.
func serverNode(node *corev1.Node, apiAddrs []string, localHost string) string {
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeHostName && slices.Contains(apiAddrs, a.Address) {
			return fmt.Sprintf("its address %s serves the API", a.Address)
		}
	}
	if localHost != "" && node.Name == localHost {
		return "it is this machine's, where the server runs"
	}
	return ""
}

// apiAddresses are the API server's addresses, from the endpoint slices
// of the default/kubernetes service; none when they cannot be read.
func apiAddresses(ctx context.Context, client kubernetes.Interface) []string {
	slices, err := client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			out = append(out, e.Addresses...)
		}
	}
	return out
}

// removeNode takes machine name out of the cluster: cordon, drain (as
// kubectl drain --ignore-daemonsets --delete-emptydir-data), record it
// removed for the local cloud provider, delete its Node and wait until
// it is gone. It says what it does on w.
func removeNode(ctx context.Context, w io.Writer, client kubernetes.Interface, name string, o nodeRemoveOptions, now func() time.Time) error {
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("node %q not found", name)
	}
	if err != nil {
		return fmt.Errorf("get node %q: %w", name, err)
	}
	if why := serverNode(node, apiAddresses(ctx, client), o.localHost); why != "" {
		if !o.force {
			return fmt.Errorf("node %q is the server's own (%s): removing it stops the cluster's pods there and the server's agent cannot join again by itself; pass --force to remove it anyway", name, why)
		}
		fmt.Fprintf(w, "node %s is the server's own (%s); removing it as --force asks. To bring it back: delete the key %s from configmap %s/%s, then restart the server\n",
			name, why, name, local.RemovedNamespace, local.RemovedConfigMap)
	}
	// The drain reports from a goroutine per pod.
	w = &lockedWriter{w: w}
	h := &drain.Helper{
		Ctx: ctx, Client: client, Force: o.force, GracePeriodSeconds: o.gracePeriod,
		IgnoreAllDaemonSets: true, DeleteEmptyDirData: true, Timeout: o.timeout,
		// kubectl drain's pause before trying an eviction a budget refused
		// again (the library's default is none: a busy loop).
		EvictErrorRetryDelay: 5 * time.Second,
		Out:                  w, ErrOut: w,
		OnPodDeletionOrEvictionFinished: func(pod *corev1.Pod, usingEviction bool, err error) {
			if err == nil {
				verb := "deleted"
				if usingEviction {
					verb = "evicted"
				}
				fmt.Fprintf(w, "pod/%s %s\n", pod.Name, verb)
			}
		},
	}
	if err := drain.RunCordonOrUncordon(h, node, true); err != nil {
		return fmt.Errorf("cordon node %q: %w", name, err)
	}
	fmt.Fprintf(w, "node/%s cordoned\n", name)
	if err := drain.RunNodeDrain(h, name); err != nil {
		return fmt.Errorf("drain node %q: %w (it stays cordoned: run again, with --force for pods no controller manages, or 'kemudi kubectl uncordon %s' to keep it)", name, err, name)
	}
	fmt.Fprintf(w, "node/%s drained\n", name)
	if err := local.MarkRemoved(ctx, client, name, now()); err != nil {
		return err
	}
	fmt.Fprintf(w, "machine %s recorded as removed (%s/%s): its kubelet registering again is turned away\n", name, local.RemovedNamespace, local.RemovedConfigMap)
	if err := deleteNodeAndWait(ctx, client, node); err != nil {
		return err
	}
	fmt.Fprintf(w, "node/%s deleted\n", name)
	return nil
}

// deleteNodeAndWait deletes the Node (the cloud node lifecycle controller
// would only once it is not Ready, and its agent may still run) and
// waits until it is gone.
func deleteNodeAndWait(ctx context.Context, client kubernetes.Interface, node *corev1.Node) error {
	nodes := client.CoreV1().Nodes()
	err := nodes.Delete(ctx, node.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &node.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %q: %w", node.Name, err)
	}
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		n, err := nodes.Get(ctx, node.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		// A Node registered again (a new UID) is the cloud node
		// controller's to turn away; this one is gone.
		return err == nil && n.UID != node.UID, nil
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("node %q still there after the deletion: %w", node.Name, err)
	}
	return err
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
