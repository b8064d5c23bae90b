package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNodeRemove is issue 12's node removal with a real agent: `kemudi
// node remove node-2` returns with the Node gone and the agent, still
// running, says in its log that its machine was removed; restarted, its
// kubelet registers the Node again and the cloud node controller
// deletes it (event DeletingNode); joined anew with the token (its
// certificate deleted), it is Ready again and stays.
func TestNodeRemove(t *testing.T) {
	t.Parallel()
	c := newJoinCluster(t)
	s := c.server
	ready := func(what string, agentTail func() string) {
		t.Helper()
		eventuallyKubectl(t, s, 2*time.Minute, what, func() (bool, string) {
			out, err := s.tryKubectl("get", "node", "node-2", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			return err == nil && out == "True", out + "\nagent log:\n" + agentTail()
		})
	}
	agent := s.startProcess("agent", "kubelet running", c.agentArgs(c.tokenFile)...)
	ready("node-2 Ready", agent.Tail)

	out, err := exec.Command("nsenter", "--net="+s.netnsPath, c.bin, "node", "remove", "--kubeconfig", s.kubeconfig, "--timeout", "2m", "node-2").CombinedOutput()
	if err != nil {
		t.Fatalf("kemudi node remove node-2: %v\n%s", err, out)
	}
	for _, want := range []string{"node/node-2 cordoned", "node/node-2 drained", "recorded as removed", "node/node-2 deleted"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kemudi node remove output lacks %q:\n%s", want, out)
		}
	}
	if got, err := s.tryKubectl("get", "node", "node-2"); err == nil || !strings.Contains(got, "NotFound") {
		t.Fatalf("node-2 after remove: %v\n%s", err, got)
	}
	eventuallyKubectl(t, s, time.Minute, "the running agent to say its machine was removed", func() (bool, string) {
		return strings.Contains(agent.Tail(), "node deleted from the cluster"), agent.Tail()
	})
	if out, err := exec.Command("nsenter", "--net="+s.netnsPath, c.bin, "node", "remove", "--kubeconfig", s.kubeconfig, "node-2").CombinedOutput(); err == nil || !strings.Contains(string(out), `node "node-2" not found`) {
		t.Errorf("removing node-2 twice: %v (want an error naming it)\n%s", err, out)
	}

	// Restarted, its kubelet registers again: turned away.
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	agent = s.startProcess("agent-again", "kubelet running", c.agentArgs(c.tokenFile)...)
	eventuallyKubectl(t, s, time.Minute, "the re-registered node-2 deleted again", func() (bool, string) {
		ev, _ := s.tryKubectl("get", "events", "-o", "custom-columns=OBJ:.involvedObject.name,REASON:.reason", "--no-headers")
		_, err := s.tryKubectl("get", "node", "node-2")
		deleting := slices.ContainsFunc(strings.Split(ev, "\n"), func(line string) bool {
			return slices.Equal(strings.Fields(line), []string{"node-2", "DeletingNode"})
		})
		return deleting && err != nil && strings.Contains(agent.Tail(), "node deleted from the cluster"), ev + "\nagent log:\n" + agent.Tail()
	})

	// Joined anew with the token: back, and it stays.
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(c.tmp, "agent", "agent", "kubelet.kubeconfig")); err != nil {
		t.Fatal(err)
	}
	agent = s.startProcess("agent-rejoined", "kubelet running", c.agentArgs(c.tokenFile)...)
	ready("the rejoined node-2 Ready", agent.Tail)
	eventuallyKubectl(t, s, time.Minute, "node-2 adopted by the provider", func() (bool, string) {
		out, err := s.tryKubectl("get", "node", "node-2", "-o", "jsonpath={.spec.providerID}")
		return err == nil && out == "local://node-2", out
	})
	if got := s.kubectl("get", "configmap", "-n", "kube-system", "kemudi-removed-nodes", "-o", "jsonpath={.data}"); strings.Contains(got, "node-2") {
		t.Errorf("node-2 still recorded removed after it joined again: %s", got)
	}
}
