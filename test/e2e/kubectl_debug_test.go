package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// debuggerName is the name kubectl debug gave its container, from its
// "Defaulting debug container name to debugger-xxxxx." line.
var debuggerName = regexp.MustCompile(`debug container name to (debugger-[a-z0-9]+)`)

// testDebug is kubectl debug against pod web (httpd as container web):
// an ephemeral container with --target sees web's processes, over both of
// kubectl's streaming protocols; a one-shot one's output is in its log
// and its state in status.ephemeralContainerStatuses; --copy-to makes a
// copy of the pod with a debugging container.
func testDebug(t *testing.T, n *serverNode) {
	image := n.registry.Ref("busybox:1")
	for _, proto := range []struct{ name, env string }{{"websocket", "true"}, {"spdy", "false"}} {
		t.Run("target "+proto.name, func(t *testing.T) {
			// stdin is not a terminal here: kubectl says so and attaches
			// without one; the shell reads our commands from the stream.
			env := []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + proto.env}
			out, err := n.kubectlEnv(env, "ps\nexit\n", "debug", "-it", "web", "--image="+image, "--target=web", "--", "sh")
			if err != nil || !strings.Contains(out, "httpd -f -p 80") {
				t.Errorf("debug -it --target=web, ps = %q, %v; want web's httpd among the processes", out, err)
			}
			m := debuggerName.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("debug -it: no debugger name in %q", out)
			}
			eventuallyKubectl(t, n, time.Minute, m[1]+" terminated after exit", func() (bool, string) {
				out, err := n.tryKubectl("get", "pod", "web", "-o", `jsonpath={.status.ephemeralContainerStatuses[?(@.name=="`+m[1]+`")].state.terminated.exitCode}`)
				return err == nil && out == "0", out
			})
		})
	}

	out := n.kubectl("debug", "web", "--image="+image, "--", "sh", "-c", "echo hi")
	m := debuggerName.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("debug: no debugger name in %q", out)
	}
	name := m[1]
	var statuses []struct {
		Name        string
		ContainerID string
		Ready       bool
		Started     *bool
		State       struct {
			Terminated *struct {
				ExitCode int
				Reason   string
			}
		}
	}
	eventuallyKubectl(t, n, time.Minute, name+" terminated in status.ephemeralContainerStatuses", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "web", "-o", "jsonpath={.status.ephemeralContainerStatuses}")
		if err != nil || json.Unmarshal([]byte(out), &statuses) != nil {
			return false, out
		}
		for _, s := range statuses {
			if s.Name == name && s.State.Terminated != nil {
				return s.State.Terminated.ExitCode == 0 && s.State.Terminated.Reason == "Completed" &&
					strings.HasPrefix(s.ContainerID, "kemudi://") && !s.Ready && s.Started == nil, out
			}
		}
		return false, out
	})
	eventuallyKubectl(t, n, time.Minute, "logs -c "+name, func() (bool, string) {
		out, err := n.tryKubectl("logs", "web", "-c", name)
		return err == nil && out == "hi\n", out
	})
	if restarts := n.kubectl("get", "pod", "web", "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.phase}"); restarts != "0 Running" {
		t.Errorf("web after debugging: restarts and phase %q, want 0 Running", restarts)
	}

	// --copy-to: a new pod, web's copy, with a debugging container beside web.
	n.kubectl("debug", "web", "--copy-to=web-copy", "--image="+image, "--container=dbg", "--", "sh", "-c", "echo in the copy; exec sleep 3600")
	n.kubectl("wait", "--for=condition=Ready", "pod/web-copy", "--timeout=120s")
	eventuallyKubectl(t, n, time.Minute, "logs web-copy -c dbg", func() (bool, string) {
		out, err := n.tryKubectl("logs", "web-copy", "-c", "dbg")
		return err == nil && out == "in the copy\n", out
	})
	if names := n.kubectl("get", "pod", "web-copy", "-o", "jsonpath={.spec.containers[*].name}"); names != "web dbg" {
		t.Errorf("web-copy's containers %q, want web dbg", names)
	}
}
