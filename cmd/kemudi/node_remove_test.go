package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/cloud/cloudtest"
	"github.com/kemudi/kemudi/internal/cloud/local"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

func TestServerNode(t *testing.T) {
	node := func(name string, addrs ...string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
		for _, a := range addrs {
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a})
		}
		return n
	}
	for _, tc := range []struct {
		name      string
		node      *corev1.Node
		api       []string
		localHost string
		want      string
	}{
		{"an agent's node", node("n2", "10.0.0.2"), []string{"10.0.0.1"}, "server", ""},
		{"the node serving the API", node("server", "10.0.0.1"), []string{"10.0.0.1"}, "", "its address 10.0.0.1 serves the API"},
		{"this machine's node", node("server", "127.0.0.2"), []string{"10.0.0.1"}, "server", "it is this machine's, where the server runs"},
		{"a host name equal to an API address is not an address", node("10.0.0.1"), []string{"10.0.0.1"}, "", ""},
		{"remote kubeconfig, API addresses unknown", node("server", "10.0.0.1"), nil, "", ""},
	} {
		if got := serverNode(tc.node, tc.api, tc.localHost); got != tc.want {
			t.Errorf("%s: serverNode = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// podOn is a pod bound to node, owned by owner (nil: by nothing).
func podOn(name, node string, owner *metav1.OwnerReference, labels map[string]string, volumes ...corev1.Volume) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
			Volumes:    volumes,
		},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func ownerRef(kind, name string, uid string) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(uid), Controller: &yes}
}

func waitRunning(t *testing.T, c kubernetes.Interface, names ...string) {
	t.Helper()
	for _, name := range names {
		controllertest.WaitFor(t, "pod "+name+" to run", 20*time.Second, func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning, err
		})
	}
}

func removedRecord(t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(local.RemovedNamespace).Get(context.Background(), local.RemovedConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

// TestNodeRemove: kemudi node remove drains a node (its pods evicted,
// its DaemonSet pod left), records the machine removed and returns with
// the Node gone; the machine's kubelet registering again gets its Node
// deleted by the cloud node controller, until the machine joins again
// with a token. An unknown node, the server's own node and a drain a
// PodDisruptionBudget blocks each fail, saying why, and remove nothing.
func TestNodeRemove(t *testing.T) {
	s := clustertest.Start(t)
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	cloudtest.Run(t, s.Config, nil, nil)
	ctx := context.Background()
	c := s.Client
	for _, name := range []string{"node-0000", "node-0001"} {
		controllertest.WaitFor(t, name+" to be adopted by the provider", 20*time.Second, func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			return err == nil && n.Spec.ProviderID == "local://"+name, err
		})
	}
	rs, err := c.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: podOn("x", "", nil, nil).Spec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := c.AppsV1().DaemonSets("default").Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agentd"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agentd"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agentd"}}, Spec: podOn("x", "", nil, nil).Spec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	webRef, dsRef := ownerRef("ReplicaSet", "web", string(rs.UID)), ownerRef("DaemonSet", "agentd", string(ds.UID))
	scratch := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	for _, p := range []*corev1.Pod{
		podOn("web-1", "node-0001", webRef, map[string]string{"app": "web"}),
		podOn("web-cache", "node-0001", webRef, map[string]string{"app": "web"}, scratch),
		podOn("agentd-1", "node-0001", dsRef, map[string]string{"app": "agentd"}),
		podOn("guarded", "node-0000", webRef, map[string]string{"app": "guarded"}),
	} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitRunning(t, c, "web-1", "web-cache", "agentd-1", "guarded")
	zero := intstr.FromInt32(0)
	if _, err := c.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guarded"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRootCommand()
		root.SetArgs(append([]string{"node", "remove", "--data-dir", s.DataDir}, args...))
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.Execute()
		return out.String(), err
	}

	t.Run("unknown node", func(t *testing.T) {
		_, err := run("no-such-node")
		if err == nil || !strings.Contains(err.Error(), `node "no-such-node" not found`) {
			t.Fatalf("remove no-such-node: %v, want an error naming it", err)
		}
	})

	t.Run("the server's own node needs --force", func(t *testing.T) {
		var out bytes.Buffer
		err := removeNode(ctx, &out, c, "node-0000", nodeRemoveOptions{timeout: time.Minute, gracePeriod: -1, localHost: "node-0000"}, time.Now)
		if err == nil || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("remove the server's node: %v, want a refusal naming --force", err)
		}
		n, err := c.CoreV1().Nodes().Get(ctx, "node-0000", metav1.GetOptions{})
		if err != nil || n.Spec.Unschedulable {
			t.Fatalf("the refused node: %v, unschedulable %v; want it untouched", err, n != nil && n.Spec.Unschedulable)
		}
	})

	t.Run("a PodDisruptionBudget blocks the drain", func(t *testing.T) {
		out, err := run("--timeout", "3s", "node-0000")
		if err == nil {
			t.Fatalf("remove node-0000 past a budget allowing no disruption succeeded:\n%s", out)
		}
		t.Logf("as expected: %v\n%s", err, out)
		n, gerr := c.CoreV1().Nodes().Get(ctx, "node-0000", metav1.GetOptions{})
		if gerr != nil || !n.Spec.Unschedulable {
			t.Fatalf("node-0000 after the failed drain: %v; want it there, cordoned", gerr)
		}
		if _, gerr := c.CoreV1().Pods("default").Get(ctx, "guarded", metav1.GetOptions{}); gerr != nil {
			t.Fatalf("the guarded pod: %v; want it kept", gerr)
		}
		if _, has := removedRecord(t, c)["node-0000"]; has {
			t.Fatal("node-0000 recorded removed though its drain failed")
		}
	})

	t.Run("drained, recorded, deleted", func(t *testing.T) {
		start := time.Now()
		out, err := run("node-0001")
		if err != nil {
			t.Fatalf("remove node-0001: %v\n%s", err, out)
		}
		t.Logf("kemudi node remove node-0001 (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
		for _, want := range []string{"node/node-0001 cordoned", "pod/web-1 evicted", "pod/web-cache evicted", "agentd-1", "node/node-0001 deleted"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if _, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("node-0001 after remove: %v, want NotFound", err)
		}
		for _, gone := range []string{"web-1", "web-cache"} {
			if _, err := c.CoreV1().Pods("default").Get(ctx, gone, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("pod %s after the drain: %v, want evicted", gone, err)
			}
		}
		p, err := c.CoreV1().Pods("default").Get(ctx, "agentd-1", metav1.GetOptions{})
		if err != nil || p.DeletionTimestamp != nil {
			t.Errorf("DaemonSet pod agentd-1 after the drain: %v; want it left alone", err)
		}
		if _, has := removedRecord(t, c)["node-0001"]; !has {
			t.Errorf("record of removed machines %v lacks node-0001", removedRecord(t, c))
		}
	})

	kubelet := s.NodeIdentity("node-0001").Client
	register := func() *corev1.Node {
		t.Helper()
		var n *corev1.Node
		controllertest.WaitFor(t, "node-0001 to register again", 20*time.Second, func(ctx context.Context) (bool, error) {
			var err error
			n, err = kubelet.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-0001"}}, metav1.CreateOptions{})
			return err == nil, nil
		})
		return n
	}

	t.Run("the removed machine registering again is turned away", func(t *testing.T) {
		n := register()
		controllertest.WaitFor(t, "the re-registered node-0001 to be deleted", 20*time.Second, func(ctx context.Context) (bool, error) {
			got, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return err == nil && got.UID != n.UID, err
		})
		events, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(events.Items, func(e corev1.Event) bool {
			return e.InvolvedObject.Name == "node-0001" && e.Reason == "DeletingNode" && e.InvolvedObject.UID == n.UID
		}) {
			t.Error("no DeletingNode event for the re-registered node-0001")
		}
	})

	t.Run("joining again with a token brings it back", func(t *testing.T) {
		joiner := s.BootstrapTokenIdentity(bootstrap.Token{ID: "rejoin", Secret: "0123456789abcdef"}, bootstrap.SecretOptions{ExtraGroups: []string{cluster.NodeTokenGroup}}).Client
		csr, err := joiner.CertificatesV1().CertificateSigningRequests().Create(ctx, nodeClientCSR(t, "node-0001"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test", Message: "rejoin"})
		if _, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		register()
		controllertest.WaitFor(t, "the rejoined node-0001 to be adopted", 20*time.Second, func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{})
			return err == nil && n.Spec.ProviderID == "local://node-0001", nil
		})
		if _, has := removedRecord(t, c)["node-0001"]; has {
			t.Error("node-0001 still recorded removed after it joined again")
		}
	})
}

func nodeClientCSR(t *testing.T, node string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
}
