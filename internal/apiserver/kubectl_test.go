package apiserver_test

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// header returns the first line of kubectl's table output, with runs of
// spaces collapsed.
func header(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	return strings.Join(strings.Fields(line), " ")
}

func rows(out string) map[string][]string {
	res := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 0 {
			res[f[0]] = f
		}
	}
	return res
}

func TestKubectlUserStory(t *testing.T) {
	s := clustertest.Start(t)

	out := s.MustKubectl("get", "ns")
	if h := header(out); h != "NAME STATUS AGE" {
		t.Fatalf("get ns header %q", h)
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if r := rows(out)[ns]; len(r) < 2 || r[1] != "Active" {
			t.Errorf("namespace %s: row %v", ns, r)
		}
	}

	if out := s.MustKubectl("create", "deployment", "web", "--image=nginx", "--replicas=3"); !strings.Contains(out, "deployment.apps/web created") {
		t.Fatalf("create deployment: %q", out)
	}
	out = s.MustKubectl("get", "deployments", "-o", "wide")
	if h := header(out); h != "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR" {
		t.Fatalf("deployments -o wide header %q", h)
	}
	if r := rows(out)["web"]; len(r) != 8 || r[1] != "0/3" || r[5] != "nginx" || r[7] != "app=web" {
		t.Fatalf("deployment row %v", r)
	}
	yaml := s.MustKubectl("get", "deploy", "web", "-o", "yaml")
	for _, want := range []string{"replicas: 3", "generation: 1", "maxSurge: 25%", "imagePullPolicy: Always", "kind: Deployment"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("-o yaml lacks %q:\n%s", want, yaml)
		}
	}
	s.MustKubectl("scale", "deploy", "web", "--replicas=5")
	if out := s.MustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"); out != "5 2" {
		t.Fatalf("after scale: %q", out)
	}
}

func TestKubectlApplyPatchesInsteadOfReplacing(t *testing.T) {
	s := clustertest.Start(t)
	manifest := `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {tier: web}
data:
  color: blue
`
	out, err := s.KubectlStdin(strings.NewReader(manifest), "apply", "-f", "-")
	if err != nil || !strings.Contains(out, "configmap/settings created") {
		t.Fatalf("apply create: %q %v", out, err)
	}
	// Someone else changes the object; apply must not drop their change.
	s.MustKubectl("annotate", "configmap", "settings", "owner=ops")
	changed := strings.Replace(manifest, "color: blue", "color: green", 1)
	out, err = s.KubectlStdin(strings.NewReader(changed), "apply", "-f", "-")
	if err != nil || !strings.Contains(out, "configmap/settings configured") {
		t.Fatalf("apply change: %q %v", out, err)
	}
	cm, err := s.Client.CoreV1().ConfigMaps("default").Get(context.Background(), "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["color"] != "green" || cm.Annotations["owner"] != "ops" || cm.Labels["tier"] != "web" {
		t.Fatalf("after apply: data %v annotations %v labels %v", cm.Data, cm.Annotations, cm.Labels)
	}
	if _, ok := cm.Annotations[corev1.LastAppliedConfigAnnotation]; !ok {
		t.Fatalf("no last-applied annotation: %v", cm.Annotations)
	}

	// Server-side apply too.
	ssa := strings.Replace(changed, "color: green", "color: red", 1)
	out, err = s.KubectlStdin(strings.NewReader(ssa), "apply", "--server-side", "--force-conflicts", "-f", "-")
	if err != nil || !strings.Contains(out, "configmap/settings serverside-applied") {
		t.Fatalf("server-side apply: %q %v", out, err)
	}
	if out := s.MustKubectl("get", "cm", "settings", "-o", "jsonpath={.data.color}"); out != "red" {
		t.Fatalf("after SSA: %q", out)
	}
}

func TestKubectlWatchSeesNewPods(t *testing.T) {
	s := clustertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, clustertest.Binary(t), "kubectl", "--kubeconfig", s.Kubeconfig, "get", "pods", "-w")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "watched"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	// Create only once kubectl is watching, and again until it shows.
	deadline := time.After(20 * time.Second)
	created := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("kubectl get -w exited")
			}
			if strings.HasPrefix(line, "watched") {
				if f := strings.Fields(line); f[1] != "0/1" || f[2] != "Pending" {
					t.Fatalf("watch row %q", line)
				}
				return
			}
		case <-tick.C:
			if !created {
				if _, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err == nil {
					created = true
				}
			}
		case <-deadline:
			t.Fatal("kubectl get -w never showed the pod")
		}
	}
}

func TestKubectlDeleteNamespaceTerminates(t *testing.T) {
	s := clustertest.Start(t)
	s.MustKubectl("create", "namespace", "team-a")
	s.MustKubectl("-n", "team-a", "create", "configmap", "c", "--from-literal=a=b")
	out := s.MustKubectl("delete", "ns", "team-a", "--wait=false")
	if !strings.Contains(out, `namespace "team-a" deleted`) {
		t.Fatalf("delete: %q", out)
	}
	out = s.MustKubectl("get", "ns", "team-a")
	if r := rows(out)["team-a"]; len(r) < 2 || r[1] != "Terminating" {
		t.Fatalf("after delete: %q", out)
	}
	// Nothing new goes into a terminating namespace.
	_, err := s.Kubectl("-n", "team-a", "create", "configmap", "d")
	if err == nil || !regexp.MustCompile(`forbidden: unable to create new content in namespace team-a because it is being terminated`).MatchString(err.Error()) {
		t.Fatalf("create in terminating namespace: %v", err)
	}
}

var _ = io.Discard
