package podgc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers (upstream's alias for
// pod-garbage-collector-controller).
const Name = "podgc"

// Upstream's fixed timings, used when the options leave them zero.
const (
	defaultPeriod     = 20 * time.Second
	defaultQuarantine = 40 * time.Second
)

// workers bounds the deletions in flight in one pass (upstream starts one
// goroutine per pod).
const workers = 16

// Controller is the pod garbage collector.
type Controller struct {
	client     kubernetes.Interface
	pods       corelisters.PodLister
	nodes      corelisters.NodeLister
	clock      clock.Clock
	log        *slog.Logger
	threshold  int
	period     time.Duration
	quarantine *quarantine
}

// New builds the controller.
func New(c *controller.Context) (*Controller, error) {
	period, wait := c.Options.PodGCPeriod, c.Options.PodGCQuarantine
	if period <= 0 {
		period = defaultPeriod
	}
	if wait <= 0 {
		wait = defaultQuarantine
	}
	pods := c.Informers.Core().V1().Pods()
	nodes := c.Informers.Core().V1().Nodes()
	// Touch the informers so that the manager starts and syncs them.
	pods.Informer()
	nodes.Informer()
	return &Controller{
		client:     c.Client,
		pods:       pods.Lister(),
		nodes:      nodes.Lister(),
		clock:      c.Clock,
		log:        c.Logger(Name),
		threshold:  c.Options.TerminatedPodGCThreshold,
		period:     period,
		quarantine: newQuarantine(wait),
	}, nil
}

// Run collects pods every period until ctx ends.
func (gc *Controller) Run(ctx context.Context) error {
	for {
		gc.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-gc.clock.After(gc.period):
		}
	}
}

// pass is one look at every pod and node.
func (gc *Controller) pass(ctx context.Context) {
	pods, err := gc.pods.List(labels.Everything())
	if err != nil {
		gc.log.Error("list pods", "err", err)
		return
	}
	nodes, err := gc.nodes.List(labels.Everything())
	if err != nil {
		gc.log.Error("list nodes", "err", err)
		return
	}
	gone := gc.goneNodes(ctx, gc.quarantine.due(MissingNodes(pods, nodes), gc.clock.Now()))
	decisions := Decide(Input{Pods: pods, Nodes: nodes, Threshold: gc.threshold, Gone: gone})
	if len(decisions) == 0 {
		return
	}
	gc.log.Info("garbage collecting pods", "pods", len(decisions))
	gc.collectAll(ctx, decisions)
}

// goneNodes asks the API, not the informer, whether each node the
// quarantine let through still exists.
func (gc *Controller) goneNodes(ctx context.Context, names []string) map[string]bool {
	gone := map[string]bool{}
	for _, name := range names {
		_, err := gc.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone[name] = true
		case err != nil:
			// Still missing at the next pass, it is quarantined again.
			gc.log.Error("get node", "node", name, "err", err)
		}
	}
	return gone
}

func (gc *Controller) collectAll(ctx context.Context, decisions []Decision) {
	work := make(chan Decision)
	var wg sync.WaitGroup
	for range min(workers, len(decisions)) {
		wg.Go(func() {
			for d := range work {
				if err := gc.collect(ctx, d); err != nil {
					gc.log.Error("force delete pod", "pod", key(d.Pod), "reason", string(d.Reason), "err", err)
				}
			}
		})
	}
	for _, d := range decisions {
		select {
		case work <- d:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
}

// collect marks the pod Failed unless it is terminal (no kubelet will
// ever report the end of an orphan), then deletes it at once.
func (gc *Controller) collect(ctx context.Context, d Decision) error {
	p := d.Pod
	pods := gc.client.CoreV1().Pods(p.Namespace)
	gc.log.Info("force deleting pod", "pod", key(p), "node", p.Spec.NodeName, "reason", string(d.Reason))
	if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		patch, err := FailedPatch(p, d.Reason == ReasonOrphaned, gc.clock.Now())
		if err != nil {
			return err
		}
		if _, err := pods.Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("mark %s failed: %w", key(p), err)
		}
	}
	zero := int64(0)
	uid := p.UID
	err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", key(p), err)
	}
	return nil
}

// FailedPatch is the strategic merge patch of pods/status that marks p
// Failed, with upstream's DisruptionTarget condition when disrupted. The
// UID in it makes the patch fail on a pod recreated under the same name.
func FailedPatch(p *corev1.Pod, disrupted bool, now time.Time) ([]byte, error) {
	status := map[string]any{
		"phase":              corev1.PodFailed,
		"observedGeneration": p.Generation,
	}
	if disrupted {
		cond := corev1.PodCondition{
			Type:               corev1.DisruptionTarget,
			Status:             corev1.ConditionTrue,
			ObservedGeneration: p.Generation,
			Reason:             ConditionReason,
			Message:            ConditionMessage,
			LastTransitionTime: metav1.NewTime(now),
		}
		// The transition is when the status last changed, not now.
		for _, c := range p.Status.Conditions {
			if c.Type == cond.Type && c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
		}
		status["conditions"] = []corev1.PodCondition{cond}
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": p.UID},
		"status":   status,
	})
	if err != nil {
		return nil, fmt.Errorf("status patch of %s: %w", key(p), err)
	}
	return patch, nil
}

func key(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }
