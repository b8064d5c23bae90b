package preemption

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// Actuator carries out a preemption through the API.
type Actuator struct {
	Client        kubernetes.Interface
	Recorder      events.EventRecorder
	SchedulerName string
	Log           *slog.Logger
}

// Preempt evicts the candidate's victims as upstream does: each gets
// the DisruptionTarget condition (reason PreemptionByScheduler), is
// deleted, and gets a Preempted event; pods of lower priority than
// preemptor that were nominated to the node lose their nomination.
func (a *Actuator) Preempt(ctx context.Context, preemptor *corev1.Pod, c *Candidate, lowerNominated []*corev1.Pod) error {
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, victim := range c.Victims {
		keep(a.evict(ctx, preemptor, victim, c.Node))
	}
	for _, p := range lowerNominated {
		keep(ClearNomination(ctx, a.Client, p))
	}
	return firstErr
}

func (a *Actuator) evict(ctx context.Context, preemptor, victim *corev1.Pod, node string) error {
	cond := corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             corev1.PodReasonPreemptionByScheduler,
		Message:            fmt.Sprintf("%s: preempting to accommodate a higher priority pod", a.SchedulerName),
		LastTransitionTime: metav1.Now(),
	}
	patch, err := json.Marshal(map[string]any{
		"status": map[string]any{"conditions": []corev1.PodCondition{cond}},
	})
	if err != nil {
		return err
	}
	pods := a.Client.CoreV1().Pods(victim.Namespace)
	if _, err := pods.Patch(ctx, victim.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("mark %s/%s as a preemption victim: %w", victim.Namespace, victim.Name, err)
	}
	uid := victim.UID
	if err := pods.Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete preemption victim %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	a.Log.Info("preempted", "victim", victim.Namespace+"/"+victim.Name, "preemptor", preemptor.Namespace+"/"+preemptor.Name, "node", node)
	a.Recorder.Eventf(victim, preemptor, corev1.EventTypeNormal, "Preempted", "Preempting", "Preempted by pod %v on node %v", preemptor.UID, node)
	return nil
}

// ClearNomination removes a pod's status.nominatedNodeName.
func ClearNomination(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) error {
	if pod.Status.NominatedNodeName == "" {
		return nil
	}
	patch := []byte(`{"status":{"nominatedNodeName":null}}`)
	_, err := client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
