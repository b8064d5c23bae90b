package kubelet

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container log rotation, as upstream's container log manager: every
// ContainerLogMonitorInterval, the log of each running container that
// has reached ContainerLogMaxSize is renamed <log>.<timestamp> and the
// runtime asked (CRI ReopenContainerLog) to write a new one; rotated
// files beyond ContainerLogMaxFiles (which counts the current log) are
// removed, and every rotated file but the newest is gzipped.

const (
	// rotatedTimeFormat is the suffix of a rotated log (upstream's).
	rotatedTimeFormat = "20060102-150405"
	gzSuffix          = ".gz"
	tmpSuffix         = ".tmp"
)

// LogPolicy is how large a container's log may grow and how many files
// of it are kept.
type LogPolicy struct {
	MaxSize  int64 // bytes; the current log is rotated at this size
	MaxFiles int   // files kept, the current one included (at least 2)
}

// RotationPlan is what to do with one container's log files.
type RotationPlan struct {
	Remove   []string // leftovers and rotated files beyond the count
	Compress []string // rotated files to gzip
	Rotate   string   // the new name of the current log; "" = not yet
}

// PlanRotation decides a container's log rotation: log is the current
// log's path and size, rotated the paths matching <log>.*; now names the
// new rotated file. It does no I/O.
func PlanRotation(log string, size int64, rotated []string, p LogPolicy, now time.Time) RotationPlan {
	var plan RotationPlan
	if p.MaxSize <= 0 || size < p.MaxSize {
		return plan
	}
	present := map[string]bool{}
	for _, r := range rotated {
		present[r] = true
	}
	var kept []string
	for _, r := range rotated {
		switch {
		case strings.HasSuffix(r, tmpSuffix):
			// A compression that did not finish.
			plan.Remove = append(plan.Remove, r)
		case !strings.HasSuffix(r, gzSuffix) && present[r+gzSuffix]:
			// Compressed, but the original was not removed yet.
			plan.Remove = append(plan.Remove, r)
		default:
			kept = append(kept, r)
		}
	}
	// The timestamp suffix sorts by age, oldest first.
	sort.Strings(kept)
	// Room for the file about to be rotated and the new current one.
	keep := max(p.MaxFiles-2, 0)
	if len(kept) > keep {
		plan.Remove = append(plan.Remove, kept[:len(kept)-keep]...)
		kept = kept[len(kept)-keep:]
	}
	for _, r := range kept {
		if !strings.HasSuffix(r, gzSuffix) {
			plan.Compress = append(plan.Compress, r)
		}
	}
	plan.Rotate = log + "." + now.UTC().Format(rotatedTimeFormat)
	if present[plan.Rotate] || present[plan.Rotate+gzSuffix] {
		// Rotated once already this second (a container writing faster
		// than the interval allows): wait for the next.
		plan.Rotate = ""
	}
	return plan
}

// logRotator rotates the logs of the running containers, through the CRI.
type logRotator struct {
	k      *Kubelet
	policy LogPolicy
}

// rotateLogsLoop rotates every ContainerLogMonitorInterval until ctx ends.
func (k *Kubelet) rotateLogsLoop(ctx context.Context) {
	r := logRotator{k: k, policy: LogPolicy{MaxSize: k.opts.ContainerLogMaxSize, MaxFiles: k.opts.ContainerLogMaxFiles}}
	if r.policy.MaxSize <= 0 || k.opts.ContainerLogMonitorInterval <= 0 {
		return
	}
	t := time.NewTicker(k.opts.ContainerLogMonitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.rotateAll(ctx)
	}
}

func (r logRotator) rotateAll(ctx context.Context) {
	list, err := r.k.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}})
	if err != nil {
		if ctx.Err() == nil {
			r.k.log.Warn("log rotation: list containers", "err", err)
		}
		return
	}
	for _, c := range list.Containers {
		if err := r.rotate(ctx, c.Id); err != nil && ctx.Err() == nil {
			r.k.log.Warn("log rotation", "container", c.Id, "err", err)
		}
	}
}

// rotate carries out one container's plan.
func (r logRotator) rotate(ctx context.Context, id string) error {
	st, err := r.k.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	log := st.GetStatus().GetLogPath()
	if log == "" || st.GetStatus().GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return nil
	}
	fi, err := os.Stat(log)
	if err != nil {
		// Not written yet, or being rotated by a runtime of its own.
		return nil
	}
	rotated, err := filepath.Glob(globEscape(log) + ".*")
	if err != nil {
		return fmt.Errorf("list rotated logs of %s: %w", log, err)
	}
	plan := PlanRotation(log, fi.Size(), rotated, r.policy, time.Now())
	for _, f := range plan.Remove {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove rotated log: %w", err)
		}
	}
	for _, f := range plan.Compress {
		if err := compressLog(f); err != nil {
			return err
		}
	}
	if plan.Rotate == "" {
		return nil
	}
	if err := os.Rename(log, plan.Rotate); err != nil {
		return fmt.Errorf("rotate log %s: %w", log, err)
	}
	if _, err := r.k.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		// The runtime still writes the renamed file: give it its name
		// back, as upstream does, so nothing is lost.
		if rerr := os.Rename(plan.Rotate, log); rerr != nil {
			return fmt.Errorf("reopen log of %s: %v; and renaming it back: %w", id, err, rerr)
		}
		return fmt.Errorf("reopen log of %s: %w", id, err)
	}
	return nil
}

// compressLog gzips path into path.gz (through a .tmp file, so that a
// crash leaves no half file under the final name) and removes path.
func compressLog(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	defer in.Close()
	tmp := path + gzSuffix + tmpSuffix
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path+gzSuffix)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compress log %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("compress log: remove %s: %w", path, err)
	}
	return nil
}

// globEscape quotes the pattern characters a path may hold.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
