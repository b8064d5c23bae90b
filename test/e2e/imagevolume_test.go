package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImageVolumePod is the image volume story with kubectl: a pod
// mounts the busybox image, pushed to the node's loopback registry, as a
// volume, whole and by a sub path, and its container reads a file from
// it and cannot write there. A volume whose image does not exist keeps
// its container waiting with ErrImagePull/ImagePullBackOff, and a volume
// without a reference is refused by the API server.
func TestImageVolumePod(t *testing.T) {
	t.Parallel()
	n := newServerNode(t, false)
	image := n.registry.Ref("busybox:1")
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := n.tryKubectl("get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})
	apply := func(manifest string) (string, error) {
		return n.kubectlEnv(nil, strings.ReplaceAll(manifest, "IMAGE", image), "apply", "-f", "-")
	}
	podWith := func(name, ref, script string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: IMAGE
    command: [sh, -c, '` + script + `']
    volumeMounts:
    - {name: tools, mountPath: /tools}
    - {name: tools, mountPath: /etc-of-image, subPath: etc, readOnly: true}
  volumes:
  - name: tools
    image: {reference: "` + ref + `", pullPolicy: IfNotPresent}
`
	}
	if out, err := apply(podWith("reader", image, `cat /tools/etc/passwd; cat /etc-of-image/group; touch /tools/x || echo refused`)); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	if out, err := apply(podWith("missing", n.registry.Ref("nothere:1"), "true")); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	out, err := apply(strings.Replace(podWith("noref", "", "true"), `reference: "", `, "", 1))
	if err == nil || !strings.Contains(out, "spec.volumes[0].image.reference: Required value") {
		t.Errorf("a pod with an image volume without reference: err %v\n%s", err, out)
	}

	eventuallyKubectl(t, n, 3*time.Minute, "reader Succeeded", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "reader", "-o", "jsonpath={.status.phase}")
		if out == "Failed" {
			t.Fatalf("reader failed:\n%s", n.kubectl("describe", "pod", "reader"))
		}
		return err == nil && out == "Succeeded", out
	})
	logs := n.kubectl("logs", "reader")
	for _, want := range []string{"root:x:0:0:root:/root:/bin/sh", "nogroup:x:65534:", "Read-only file system", "refused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("reader's log lacks %q:\n%s", want, logs)
		}
	}
	eventuallyKubectl(t, n, 2*time.Minute, "missing waits on its image volume", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "missing", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")
		return err == nil && (out == "ErrImagePull" || out == "ImagePullBackOff"), out
	})
	if out := n.kubectl("get", "events", "--field-selector", "involvedObject.name=missing"); !strings.Contains(out, `Failed to pull image "`+n.registry.Ref("nothere:1")+`"`) {
		t.Errorf("events of missing:\n%s", out)
	}
}

// TestImageVolumeCrictl mounts an image into a container with crictl,
// as the kubelet asks: read-only, whole and by image_sub_path. The image
// can be removed while mounted (as containerd allows) and its files stay
// until the container is removed, which leaves no mount behind.
func TestImageVolumeCrictl(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	ref := n.registry.Ref("busybox:1")
	n.crictl("pull", ref)
	files := n.podAndContainer("vol")
	pod := strings.TrimSpace(n.crictl("runp", files.pod))
	ctrFile := n.writeJSON("vol-reader.json", map[string]any{
		"metadata": map[string]any{"name": "reader"},
		"image":    map[string]any{"image": ref},
		"command":  []string{"sh", "-c", "cat /tools/etc/passwd; ls /bins/busybox; touch /tools/x 2>&1"},
		"log_path": "reader.log",
		"mounts": []map[string]any{
			{"container_path": "/tools", "image": map[string]any{"image": ref}, "readonly": true},
			{"container_path": "/bins", "image": map[string]any{"image": ref}, "image_sub_path": "bin", "readonly": true},
		},
	})
	writable := n.writeJSON("vol-writable.json", map[string]any{
		"metadata": map[string]any{"name": "writable"},
		"image":    map[string]any{"image": ref},
		"mounts":   []map[string]any{{"container_path": "/tools", "image": map[string]any{"image": ref}}},
	})
	if out, err := n.tryCrictl("create", pod, writable, files.pod); err == nil || !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "ImageVolumeMountFailed") {
		t.Errorf("crictl create with a writable image mount: err %v, output %q", err, out)
	}
	ctr := strings.TrimSpace(n.crictl("create", pod, ctrFile, files.pod))
	n.crictl("start", ctr)
	var st struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
			Mounts   []struct {
				HostPath string `json:"hostPath"`
			} `json:"mounts"`
		} `json:"status"`
	}
	eventually(t, time.Minute, "the reader exits", func() (bool, string) {
		n.crictlJSON(&st, "inspect", ctr)
		return st.Status.State == "CONTAINER_EXITED", st.Status.State
	})
	logs, _ := n.tryCrictl("logs", ctr)
	for _, want := range []string{"root:x:0:0", "/bins/busybox", "touch: /tools/x: Read-only file system"} {
		if !strings.Contains(logs, want) {
			t.Errorf("reader's log lacks %q:\n%s", want, logs)
		}
	}
	if st.Status.ExitCode != 1 {
		t.Errorf("reader exited %d, want 1 (its write refused)", st.Status.ExitCode)
	}
	if m := mountsUnder(filepath.Join(n.root, "containers", ctr)); len(m) != 3 { // rootfs and 2 image volumes
		t.Errorf("mounts of the container: %s", fmtList(m))
	}

	n.crictl("rmi", ref)
	if len(st.Status.Mounts) == 0 {
		t.Fatal("crictl inspect lists no mounts")
	}
	if out := run(t, "cat", filepath.Join(st.Status.Mounts[0].HostPath, "etc/passwd")); !strings.Contains(out, "root:x:0:0") {
		t.Errorf("the mounted image after crictl rmi: %q", out)
	}
	n.crictl("rm", ctr)
	n.crictl("stopp", pod)
	n.crictl("rmp", pod)
	n.assertPodGone(pod, ctr)
	n.assertNodeClean()
}
