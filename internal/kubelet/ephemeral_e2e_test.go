package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestEphemeralContainers is kubectl debug's node side on both runtimes:
// an ephemeral container added to a running pod starts once, shows its
// state in status.ephemeralContainerStatuses, logs like any container,
// and with a target sees the target container's processes (and without
// one, only its own); one that ended is not started again.
func TestEphemeralContainers(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { testEphemeralContainers(t, startNode(t, rt)) })
	}
}

func testEphemeralContainers(t *testing.T, n *node) {
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	// The target's process is told apart by its argument.
	web := pod("web", corev1.RestartPolicyAlways, img, "exec sleep 3601")
	web.Spec.Containers[0].Name = "web"
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod := func(what string, cond func(p *corev1.Pod) error) *corev1.Pod {
		t.Helper()
		var p *corev1.Pod
		until(t, what, timeout, func(ctx context.Context) (bool, error) {
			var err error
			if p, err = n.c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); err != nil {
				return false, err
			}
			return cond(p) == nil, cond(p)
		})
		return p
	}
	waitPod("web running", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})

	addDebugger := func(ec corev1.EphemeralContainer) {
		t.Helper()
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ec.Image, ec.TerminationMessagePolicy, ec.ImagePullPolicy = img, corev1.TerminationMessageReadFile, corev1.PullIfNotPresent
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, ec)
		if _, err := n.c.CoreV1().Pods("default").UpdateEphemeralContainers(ctx, "web", p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("add ephemeral container %s: %v", ec.Name, err)
		}
	}
	ephemeral := func(p *corev1.Pod, name string) (corev1.ContainerStatus, error) {
		for _, cs := range p.Status.EphemeralContainerStatuses {
			if cs.Name == name {
				return cs, nil
			}
		}
		return corev1.ContainerStatus{}, fmt.Errorf("no status of %s in %+v", name, p.Status.EphemeralContainerStatuses)
	}

	// A one-shot debugger without a target: it runs, says hi, lists the
	// processes it sees, and ends; it stays terminated.
	addDebugger(corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger-once", Command: []string{"sh", "-c", "echo hi; ps"}}})
	p := waitPod("debugger-once terminated", func(p *corev1.Pod) error {
		cs, err := ephemeral(p, "debugger-once")
		if err != nil {
			return err
		}
		if cs.State.Terminated == nil {
			return fmt.Errorf("state %+v", cs.State)
		}
		return nil
	})
	once, _ := ephemeral(p, "debugger-once")
	if tm := once.State.Terminated; tm.ExitCode != 0 || tm.Reason != "Completed" || !strings.HasPrefix(once.ContainerID, n.rt.Name+"://") ||
		once.Ready || once.Started != nil || once.RestartCount != 0 || once.ImageID == "" {
		t.Errorf("debugger-once status %+v", once)
	}
	if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Running == nil || cs[0].RestartCount != 0 {
		t.Errorf("the debugger disturbed web: %+v", cs)
	}
	log := containerLog(t, n, strings.TrimPrefix(once.ContainerID, n.rt.Name+"://"))
	if !strings.Contains(log, "hi") {
		t.Errorf("debugger-once's log lacks hi:\n%s", log)
	}
	if strings.Contains(log, "sleep 3601") {
		t.Errorf("debugger-once has no target yet sees web's processes:\n%s", log)
	}

	// A debugger targeting web shares its process namespace.
	addDebugger(corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger-target", Command: []string{"sleep", "3602"}}, TargetContainerName: "web"})
	p = waitPod("debugger-target running", func(p *corev1.Pod) error {
		cs, err := ephemeral(p, "debugger-target")
		if err != nil {
			return err
		}
		if cs.State.Running == nil {
			return fmt.Errorf("state %+v", cs.State)
		}
		return nil
	})
	target, _ := ephemeral(p, "debugger-target")
	rt, closeRT, err := kubelet.Dial(n.rt.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRT()
	resp, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: strings.TrimPrefix(target.ContainerID, n.rt.Name+"://"),
		Cmd: []string{"ps"}, Timeout: 10})
	if err != nil || !strings.Contains(string(resp.Stdout), "sleep 3601") || !strings.Contains(string(resp.Stdout), "sleep 3602") {
		t.Errorf("ps in debugger-target = %q, %v; want web's sleep 3601 beside its own", resp.GetStdout(), err)
	}

	// The one that ended is still the only one of its name, terminated,
	// after the pod synced again (here: because of the second debugger).
	list, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(p.UID), "io.kubernetes.container.name": "debugger-once"}}})
	if err != nil || len(list.Containers) != 1 {
		t.Errorf("containers named debugger-once: %v, %v; want exactly one", list.GetContainers(), err)
	}
	if again, _ := ephemeral(p, "debugger-once"); again.State.Terminated == nil || again.ContainerID != once.ContainerID {
		t.Errorf("debugger-once after another sync: %+v", again)
	}
	waitEvent(t, n, "web", "Started", "Started container debugger-target")
}

// containerLog is the CRI log file of container id on node n.
func containerLog(t *testing.T, n *node, id string) string {
	t.Helper()
	rt, closeRT, err := kubelet.Dial(n.rt.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRT()
	var b []byte
	until(t, "log of "+id, 20*time.Second, func(ctx context.Context) (bool, error) {
		st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			return false, err
		}
		b, err = os.ReadFile(st.GetStatus().GetLogPath())
		return err == nil && len(b) > 0, err
	})
	return string(b)
}
