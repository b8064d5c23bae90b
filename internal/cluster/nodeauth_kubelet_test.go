package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/kubelet"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// TestNodeAuthorizerKubelet: a real kubelet with a node's own identity
// (system:node:node-1, no more) registers its Node, renews its Lease,
// runs a pod that mounts a secret, takes a config map into its env and
// gets a service account token, and creates the mirror of a static pod:
// everything a kubelet does passes the Node authorizer and
// NodeRestriction.
func TestNodeAuthorizerKubelet(t *testing.T) {
	rt := kubelettest.StartKemudi(t, clustertest.Binary(t))
	s := clustertest.Start(t)
	s.RunControlPlane()
	ctx := context.Background()
	admin := s.Client
	const nodeName = "node-1"
	id := s.UserIdentity("system:node:"+nodeName, "system:nodes")

	until := func(what string, cond func(context.Context) error) {
		t.Helper()
		var last error
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
			last = cond(ctx)
			return last == nil, nil
		})
		if err != nil {
			t.Fatalf("%s: %v", what, last)
		}
	}
	// The pod's account must exist for its token (the service account
	// controller makes it).
	until("default/default service account", func(ctx context.Context) error {
		_, err := admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if _, err := admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "app-secret"}, StringData: map[string]string{"password": "s3cret"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config"}, Data: map[string]string{"mode": "prod"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	manifests := t.TempDir()
	static := strings.NewReplacer("IMAGE", rt.Images["busybox"]).Replace(`apiVersion: v1
kind: Pod
metadata:
  name: static
  namespace: default
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: IMAGE
    command: ["sleep", "3600"]
`)
	if err := os.WriteFile(filepath.Join(manifests, "static.yaml"), []byte(static), 0o644); err != nil {
		t.Fatal(err)
	}

	o := kubelet.DefaultOptions()
	o.NodeName = nodeName
	o.RuntimeEndpoint = rt.Endpoint
	o.RootDir = filepath.Join(rt.Dir, "kubelet")
	o.PodLogDir = filepath.Join(rt.Dir, "pods")
	o.CgroupRoot = rt.CgroupRoot
	o.NodeIPs = []net.IP{rt.NodeIP}
	o.Dial = rt.Dial
	o.StatusInterval = time.Second
	o.PodManifestPath, o.FileCheckFrequency = manifests, time.Hour
	o.ImageGCHighThresholdPercent = 100
	o.EvictionHard, _ = kubelet.ParseThresholds("memory.available<100Mi")
	o.Log = slog.New(slog.NewTextHandler(kubeletLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	k, err := kubelet.New(id.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	kctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- k.Run(kctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
	})

	until("node Ready", func(ctx context.Context) error {
		n, err := admin.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("not Ready: %v", n.Status.Conditions)
	})
	until("node lease", func(ctx context.Context) error {
		_, err := admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, nodeName, metav1.GetOptions{})
		return err
	})

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "c", Image: rt.Images["busybox"],
				// Ready only when the secret, the config map and the token
				// all made it into the container.
				Command: []string{"sh", "-c", `test "$(cat /secret/password)" = s3cret && test "$MODE" = prod && test -s /var/run/secrets/kubernetes.io/serviceaccount/token && touch /tmp/ok; exec sleep 3600`},
				Env: []corev1.EnvVar{{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}, Key: "mode"}}}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "secret", MountPath: "/secret"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ok"}}}, PeriodSeconds: 1},
			}},
			Volumes: []corev1.Volume{{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "app-secret"}}}},
		},
	}
	if _, err := admin.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until("the pod Ready with its secret, config map and token", func(ctx context.Context) error {
		p, err := admin.CoreV1().Pods("default").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("phase %s, conditions %v, containers %v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
	})
	until("the static pod's mirror, owned by the node", func(ctx context.Context) error {
		m, err := admin.CoreV1().Pods("default").Get(ctx, "static-"+nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(m.OwnerReferences) != 1 || m.OwnerReferences[0].Kind != "Node" || m.OwnerReferences[0].Name != nodeName {
			return fmt.Errorf("owners %v", m.OwnerReferences)
		}
		return nil
	})
}

// kubeletLog writes the kubelet's warnings to the test log.
type kubeletLog struct{ t *testing.T }

func (w kubeletLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
