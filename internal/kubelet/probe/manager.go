package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
)

// Kind is a probe's kind.
type Kind int

const (
	Startup Kind = iota
	Liveness
	Readiness
)

func (k Kind) String() string {
	return [...]string{"Startup", "Liveness", "Readiness"}[k]
}

// Container is a running container to probe.
type Container struct {
	ID        string
	Spec      *corev1.Container
	StartedAt time.Time
}

type key struct {
	id   string
	kind Kind
}

// Manager runs one goroutine per probe of each running container.
type Manager struct {
	checker  Checker
	recorder record.EventRecorder
	onChange func(types.UID)
	log      *slog.Logger
	// Metrics, if set, counts every probe run.
	Metrics *Metrics

	mu      sync.Mutex
	workers map[key]*worker
	ready   map[string]bool
	started map[string]bool
	failed  map[string]string // container ID → kill message
}

// NewManager makes a manager; onChange is told when a result of a pod changes.
func NewManager(c Checker, recorder record.EventRecorder, onChange func(types.UID), log *slog.Logger) *Manager {
	return &Manager{checker: c, recorder: recorder, onChange: onChange, log: log,
		workers: map[key]*worker{}, ready: map[string]bool{}, started: map[string]bool{}, failed: map[string]string{}}
}

// Sync probes exactly the running containers of pod given.
func (m *Manager) Sync(ctx context.Context, pod *corev1.Pod, podIP string, running []Container) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[string]bool{}
	for _, c := range running {
		live[c.ID] = true
		for kind, p := range map[Kind]*corev1.Probe{Startup: c.Spec.StartupProbe, Liveness: c.Spec.LivenessProbe, Readiness: c.Spec.ReadinessProbe} {
			k := key{c.ID, kind}
			if p == nil || m.workers[k] != nil {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			w := &worker{m: m, key: k, pod: pod, probe: p, target: Target{PodIP: podIP, ContainerID: c.ID, Container: c.Spec},
				startedAt: c.StartedAt, hasStartup: c.Spec.StartupProbe != nil, cancel: cancel}
			m.workers[k] = w
			go w.run(wctx)
		}
	}
	for k, w := range m.workers {
		if w.pod.UID == pod.UID && !live[k.id] {
			w.cancel()
			delete(m.workers, k)
			delete(m.ready, k.id)
			delete(m.started, k.id)
			delete(m.failed, k.id)
		}
	}
}

// RemovePod stops every probe of the pod.
func (m *Manager) RemovePod(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.workers {
		if w.pod.UID == uid {
			w.cancel()
			// A restarted container's probes count on under the same
			// labels, as upstream's; only a pod that goes drops them.
			m.Metrics.forget(w)
			delete(m.workers, k)
			delete(m.ready, k.id)
			delete(m.started, k.id)
			delete(m.failed, k.id)
		}
	}
}

// Results returns the readiness, startup and failed (kill message) results by container ID.
func (m *Manager) Results(ids []string) (ready, started map[string]bool, failed map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ready, started, failed = map[string]bool{}, map[string]bool{}, map[string]string{}
	for _, id := range ids {
		if m.ready[id] {
			ready[id] = true
		}
		if m.started[id] {
			started[id] = true
		}
		if msg, ok := m.failed[id]; ok {
			failed[id] = msg
		}
	}
	return ready, started, failed
}

func (m *Manager) set(w *worker, apply func()) {
	m.mu.Lock()
	if m.workers[w.key] != w {
		m.mu.Unlock()
		return
	}
	apply()
	m.mu.Unlock()
	m.onChange(w.pod.UID)
}

type worker struct {
	m          *Manager
	key        key
	pod        *corev1.Pod
	probe      *corev1.Probe
	target     Target
	startedAt  time.Time
	hasStartup bool
	cancel     context.CancelFunc
}

func orDefault(v, d int32) int32 {
	if v <= 0 {
		return d
	}
	return v
}

func (w *worker) run(ctx context.Context) {
	p := w.probe
	period := time.Duration(orDefault(p.PeriodSeconds, 10)) * time.Second
	timeout := time.Duration(orDefault(p.TimeoutSeconds, 1)) * time.Second
	success, failure := int(orDefault(p.SuccessThreshold, 1)), int(orDefault(p.FailureThreshold, 3))
	delay := time.Until(w.startedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second))
	if !sleep(ctx, delay) {
		return
	}
	var okRun, failRun int
	lastReady := false
	for {
		if w.key.kind != Startup && w.hasStartup && !w.isStarted() {
			if !sleep(ctx, period) {
				return
			}
			continue
		}
		began := time.Now()
		ok, msg := w.m.checker.Check(ctx, p.ProbeHandler, timeout, w.target)
		if ctx.Err() != nil {
			return
		}
		w.m.Metrics.observe(w, ok, time.Since(began))
		if ok {
			okRun, failRun = okRun+1, 0
		} else {
			okRun, failRun = 0, failRun+1
			w.m.recorder.Eventf(w.pod, corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", w.key.kind, msg)
		}
		switch w.key.kind {
		case Startup:
			if okRun >= 1 {
				w.m.set(w, func() { w.m.started[w.key.id] = true })
				return
			}
			if failRun >= failure {
				w.fail(fmt.Sprintf("Container %s failed startup probe, will be restarted", w.target.Container.Name))
				return
			}
		case Liveness:
			if failRun >= failure {
				w.fail(fmt.Sprintf("Container %s failed liveness probe, will be restarted", w.target.Container.Name))
				return
			}
		case Readiness:
			if okRun >= success && !lastReady {
				lastReady = true
				w.m.set(w, func() { w.m.ready[w.key.id] = true })
			}
			if failRun >= failure && lastReady {
				lastReady = false
				w.m.set(w, func() { delete(w.m.ready, w.key.id) })
			}
		}
		if !sleep(ctx, period) {
			return
		}
	}
}

func (w *worker) isStarted() bool {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.m.started[w.key.id]
}

func (w *worker) fail(msg string) {
	w.m.set(w, func() { w.m.failed[w.key.id] = msg })
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
