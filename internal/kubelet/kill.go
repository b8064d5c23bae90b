package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// minGrace is upstream's floor for the grace left after a preStop hook.
const minGrace = 2

func grpcMessage(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}

// killContainer runs the preStop hook, then stops the container with
// what is left of the grace period. pod and c may be nil (an orphan).
func (k *Kubelet) killContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cs *runtimeapi.ContainerStatus, grace int64, msg string) {
	if cs == nil {
		return
	}
	name := cs.GetMetadata().GetName()
	if pod != nil {
		if msg == "" {
			msg = "Stopping container " + name
		}
		k.recorder.Event(pod, corev1.EventTypeNormal, "Killing", msg)
	}
	if cs.State == runtimeapi.ContainerState_CONTAINER_RUNNING && pod != nil && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		start := time.Now()
		hctx, cancel := context.WithTimeout(ctx, time.Duration(grace)*time.Second)
		ip := ""
		if len(pod.Status.PodIPs) > 0 {
			ip = pod.Status.PodIPs[0].IP
		}
		if err := k.runHook(hctx, pod, c, cs.Id, ip, c.Lifecycle.PreStop, "PreStop"); err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPreStopHook", "%v", err)
		}
		cancel()
		grace = max(grace-int64(time.Since(start).Seconds()), minGrace)
	}
	if cs.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		return
	}
	if _, err := k.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: cs.Id, Timeout: grace}); err != nil && ctx.Err() == nil {
		k.log.Warn("stop container", "container", name, "id", cs.Id, "err", err)
	}
}

// killPod stops every container (regular ones first, sidecars and init
// containers after, each group in parallel), then every sandbox.
func (k *Kubelet) killPod(ctx context.Context, pod *corev1.Pod, state PodState, grace int64) {
	var regular, rest []*runtimeapi.ContainerStatus
	for _, cs := range state.Containers {
		if cs.State != runtimeapi.ContainerState_CONTAINER_RUNNING && cs.State != runtimeapi.ContainerState_CONTAINER_CREATED {
			continue
		}
		if pod != nil && isInit(pod, cs.GetMetadata().GetName()) {
			rest = append(rest, cs)
		} else {
			regular = append(regular, cs)
		}
	}
	for _, group := range [][]*runtimeapi.ContainerStatus{regular, rest} {
		var wg sync.WaitGroup
		for _, cs := range group {
			var spec *corev1.Container
			if pod != nil {
				spec = specOf(pod, cs.GetMetadata().GetName())
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				k.killContainer(ctx, pod, spec, cs, grace, "")
			}()
		}
		wg.Wait()
	}
	for _, sb := range state.Sandboxes {
		if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		if _, err := k.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			k.log.Warn("stop sandbox", "id", sb.Id, "err", err)
		}
	}
	if pod != nil {
		k.probes.RemovePod(pod.UID)
	}
}

// removePod removes the pod's containers, sandboxes, volumes, logs and
// cgroups from the node.
func (k *Kubelet) removePod(ctx context.Context, uid types.UID, state PodState) error {
	for _, c := range state.Containers {
		if _, err := k.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.Id}); err != nil {
			return fmt.Errorf("remove container %s: %w", c.Id, err)
		}
	}
	for _, sb := range state.Sandboxes {
		if _, err := k.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return fmt.Errorf("stop sandbox %s: %w", sb.Id, err)
		}
		if _, err := k.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return fmt.Errorf("remove sandbox %s: %w", sb.Id, err)
		}
		if m := sb.Metadata; m != nil {
			_ = os.RemoveAll(k.podLogDir(m.Namespace, m.Name, m.Uid))
		}
	}
	if err := k.volumes.TearDown(uid); err != nil {
		return err
	}
	k.userns.release(uid) // its directory, with the block's record, is gone
	removePodCgroups(k.opts.CgroupRoot, uid)
	return nil
}

// removePodCgroups removes the pod's cgroup (whatever its QoS class) in
// every hierarchy; the runtime removes the containers' own.
func removePodCgroups(root string, uid types.UID) {
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	mounts = append(mounts, "/sys/fs/cgroup")
	for _, m := range mounts {
		for _, q := range []string{"", "burstable", "besteffort"} {
			p := filepath.Join(m, root, "kubepods", q, "pod"+string(uid))
			removeTree(p)
		}
	}
}

// removeTree removes empty cgroup directories bottom-up.
func removeTree(p string) {
	ents, err := os.ReadDir(p)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			removeTree(filepath.Join(p, e.Name()))
		}
	}
	_ = os.Remove(p)
}
