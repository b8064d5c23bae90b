// Package controllertest helps the controllers' integration tests: a
// stand-in kubelet and scheduler for one namespace, so that pods run,
// become ready, finish and go away while the real scheduler and the
// simulated nodes (internal/simnode) are not part of the test.
package controllertest

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Annotations that make a pod finish (the simulated nodes' names).
const (
	CompleteAfter = "simnode.kemudi.io/complete-after"
	FailAfter     = "simnode.kemudi.io/fail-after"
	// ExitCode sets the exit code of a pod FailAfter fails (default 1).
	ExitCode = "controllertest.kemudi.io/exit-code"
	// NotReady keeps a running pod unready.
	NotReady = "controllertest.kemudi.io/not-ready"
)

// Kubelet acts for the pods of one namespace: it binds unbound pods (to
// the node their node affinity names, else to DefaultNode), makes them
// Running and Ready, finishes those annotated to finish, and removes
// pods being deleted.
type Kubelet struct {
	Client      kubernetes.Interface
	Namespace   string
	DefaultNode string

	mu     sync.Mutex
	paused bool
}

// StartKubelet runs a Kubelet until the test ends.
func StartKubelet(t testing.TB, client kubernetes.Interface, namespace, defaultNode string) *Kubelet {
	k := &Kubelet{Client: client, Namespace: namespace, DefaultNode: defaultNode}
	ctx, cancel := context.WithCancel(context.Background())
	inf := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace))
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	add := func(obj interface{}) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			q.Add(key)
		}
	}
	pods := inf.Core().V1().Pods()
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: add, UpdateFunc: func(_, o interface{}) { add(o) },
	}); err != nil {
		t.Fatal(err)
	}
	inf.Start(ctx.Done())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, quit := q.Get()
				if quit {
					return
				}
				ns, name, _ := cache.SplitMetaNamespaceKey(key)
				p, err := pods.Lister().Pods(ns).Get(name)
				if err == nil {
					var after time.Duration
					after, err = k.act(ctx, p.DeepCopy())
					if err == nil && after > 0 {
						q.AddAfter(key, after)
					}
				}
				if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
					q.AddRateLimited(key)
				} else {
					q.Forget(key)
				}
				q.Done(key)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		q.ShutDown()
		wg.Wait()
		inf.Shutdown()
	})
	return k
}

// Pause stops the kubelet acting (pods stay as they are) until Resume.
func (k *Kubelet) Pause() { k.mu.Lock(); k.paused = true; k.mu.Unlock() }

// Resume lets the kubelet act again.
func (k *Kubelet) Resume() { k.mu.Lock(); k.paused = false; k.mu.Unlock() }

func (k *Kubelet) act(ctx context.Context, p *corev1.Pod) (time.Duration, error) {
	k.mu.Lock()
	paused := k.paused
	k.mu.Unlock()
	if paused {
		return time.Second, nil
	}
	pods := k.Client.CoreV1().Pods(p.Namespace)
	if p.DeletionTimestamp != nil {
		if p.Spec.NodeName == "" {
			return 0, nil
		}
		zero := int64(0)
		return 0, pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}})
	}
	if p.Spec.NodeName == "" {
		return 0, pods.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: nodeFor(p, k.DefaultNode)},
		}, metav1.CreateOptions{})
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return 0, nil
	}
	now := metav1.Now()
	if p.Status.Phase != corev1.PodRunning {
		p.Status.Phase = corev1.PodRunning
		p.Status.StartTime = &now
		ready := corev1.ConditionTrue
		if _, ok := p.Annotations[NotReady]; ok {
			ready = corev1.ConditionFalse
		}
		p.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
		}
		p.Status.ContainerStatuses = nil
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: ready == corev1.ConditionTrue, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		p.Status.PodIP = "10.42.0.1"
		_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err != nil {
			return 0, err
		}
		return time.Millisecond, nil // look again for finishing
	}
	phase, exit, after, ok := finish(p)
	if !ok || p.Status.StartTime == nil {
		return 0, nil
	}
	if left := time.Until(p.Status.StartTime.Add(after)); left > 0 {
		return left, nil
	}
	p.Status.Phase = phase
	for i := range p.Status.Conditions {
		if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			c.Status, c.LastTransitionTime = corev1.ConditionFalse, now
		}
	}
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		cs.Ready = false
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, FinishedAt: now, StartedAt: *p.Status.StartTime}}
	}
	_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return 0, err
}

func finish(p *corev1.Pod) (corev1.PodPhase, int32, time.Duration, bool) {
	if p.Spec.RestartPolicy == corev1.RestartPolicyAlways || p.Spec.RestartPolicy == "" {
		return "", 0, 0, false
	}
	if v, ok := p.Annotations[FailAfter]; ok && p.Spec.RestartPolicy == corev1.RestartPolicyNever {
		if d, err := time.ParseDuration(v); err == nil {
			code := int32(1)
			if c, ok := p.Annotations[ExitCode]; ok {
				var n int
				for _, r := range c {
					n = n*10 + int(r-'0')
				}
				code = int32(n)
			}
			return corev1.PodFailed, code, d, true
		}
	}
	if v, ok := p.Annotations[CompleteAfter]; ok {
		if d, err := time.ParseDuration(v); err == nil {
			return corev1.PodSucceeded, 0, d, true
		}
	}
	return "", 0, 0, false
}

// nodeFor reads the node a pod's required node affinity names by
// metadata.name (daemon pods), else def.
func nodeFor(p *corev1.Pod, def string) string {
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == "metadata.name" && len(f.Values) == 1 {
					return f.Values[0]
				}
			}
		}
	}
	return def
}

func ptr[T any](v T) *T { return &v }
