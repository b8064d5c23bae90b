package cri

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A RUN step is a container of this runtime, made through its own CRI
// verbs, in a sandbox on the node's network (so that it reaches the
// registry on 127.0.0.1 and whatever network the machine has). Its image
// is the stage so far, which gives it the ENV, USER and WORKDIR; the
// stage's ARGs are added to its environment. Its output is streamed from
// its CRI log; its writable layer becomes the step's layer.

// sandbox is the build's sandbox, made on first use and removed by
// cleanup.
func (b *builder) sandbox(ctx context.Context) (*runtimeapi.PodSandboxConfig, string, error) {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: b.id, Uid: b.id, Namespace: "kemudi-build"},
		LogDirectory: filepath.Join(b.dir, "logs"),
		Labels:       map[string]string{buildLabel: b.id},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	if b.sandboxID != "" {
		return cfg, b.sandboxID, nil
	}
	if err := os.MkdirAll(cfg.LogDirectory, 0o700); err != nil {
		return nil, "", err
	}
	resp, err := b.r.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return nil, "", fmt.Errorf("build sandbox: %w", err)
	}
	b.sandboxID = resp.GetPodSandboxId()
	id := b.sandboxID
	b.cleanups = append(b.cleanups, func() {
		bg := context.Background()
		if _, err := b.r.StopPodSandbox(bg, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			b.r.log.Warn("stop build sandbox", "id", id, "err", err)
		}
		if _, err := b.r.RemovePodSandbox(bg, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			b.r.log.Warn("remove build sandbox", "id", id, "err", err)
		}
	})
	return cfg, b.sandboxID, nil
}

// runCommand runs argv in a container of the stage so far and commits what it
// changed.
func (b *builder) runCommand(ctx context.Context, s *buildState, argv []string, createdBy string) error {
	if err := b.ensureImage(ctx, s); err != nil {
		return err
	}
	sbCfg, sbID, err := b.sandbox(ctx)
	if err != nil {
		return err
	}
	var envs []*runtimeapi.KeyValue
	for _, kv := range argEnv(s.args, s.Config.Config.Env) {
		k, v, _ := strings.Cut(kv, "=")
		envs = append(envs, &runtimeapi.KeyValue{Key: k, Value: []byte(v)})
	}
	logName := fmt.Sprintf("step-%d.log", b.step)
	created, err := b.r.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId:  sbID,
		SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("step-%d", b.step)},
			Image:    &runtimeapi.ImageSpec{Image: s.ImageID},
			Command:  argv,
			Envs:     envs,
			LogPath:  logName,
		},
	})
	if err != nil {
		return err
	}
	id := created.GetContainerId()
	defer func() {
		if _, err := b.r.RemoveContainer(context.WithoutCancel(ctx), &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			b.r.log.Warn("remove build container", "id", id, "err", err)
		}
	}()
	tail := &logTail{path: filepath.Join(sbCfg.LogDirectory, logName), out: b.out}
	if _, err := b.r.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		tail.poll()
		return err
	}
	if err := b.waitExit(ctx, id, tail); err != nil {
		return err
	}
	c, err := b.r.containers.get(id)
	if err != nil {
		return err
	}
	if c.ExitCode != 0 || c.Reason == "StartError" {
		msg := fmt.Sprintf("did not complete successfully: exit code: %d", c.ExitCode)
		if c.Message != "" {
			msg += ": " + c.Message
		}
		if last := tail.last(); last != "" {
			msg += "\n" + last
		}
		return fmt.Errorf("%s", msg)
	}
	rfs, err := b.store.Rootfs(c.rootfsKey())
	if err != nil {
		return err
	}
	return b.commitUpper(ctx, s, rfs, createdBy)
}

// waitExit waits for the container to exit, streaming its output.
func (b *builder) waitExit(ctx context.Context, id string, tail *logTail) error {
	done := make(chan error, 1)
	go func() {
		done <- b.r.waitContainer(ctx, id, func(c container) bool {
			return c.State == runtimeapi.ContainerState_CONTAINER_EXITED
		})
	}()
	// The log is a file the supervisor writes: read what is new now and
	// then, and all of it once the process has ended.
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			tail.poll()
			return err
		case <-t.C:
			tail.poll()
		}
	}
}

// logTail copies the messages of a CRI log file to out as they come and
// keeps the last lines for an error.
type logTail struct {
	path    string
	out     io.Writer
	off     int64
	partial []byte
	lines   []string
}

const keptLines = 20

func (t *logTail) poll() {
	f, err := os.Open(t.path)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return
	}
	t.off += int64(len(data))
	data = append(t.partial, data...)
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		t.partial = data
		return
	}
	t.partial = append([]byte(nil), data[end+1:]...)
	sc := bufio.NewScanner(bytes.NewReader(data[:end+1]))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		// "<time> <stream> <P|F> <message>"
		f := strings.SplitN(sc.Text(), " ", 4)
		if len(f) < 4 {
			continue
		}
		msg := f[3]
		if f[2] == "F" {
			msg += "\n"
		}
		io.WriteString(t.out, msg)
		t.lines = append(t.lines, strings.TrimSuffix(msg, "\n"))
		if len(t.lines) > keptLines {
			t.lines = t.lines[len(t.lines)-keptLines:]
		}
	}
}

func (t *logTail) last() string { return strings.Join(t.lines, "\n") }
