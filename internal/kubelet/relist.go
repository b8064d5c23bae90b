package kubelet

import (
	"context"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// pollPeriod is the relist period for a runtime that does not stream
// container events (upstream's generic PLEG relists every second).
const pollPeriod = time.Second

// relistLoop wakes pods' workers when their containers change: from the
// runtime's event stream, with a slow relist as a safety net, or by
// polling when the runtime has no event stream. The first relist adopts
// what runs (and removes what belongs to no pod).
func (k *Kubelet) relistLoop(ctx context.Context) {
	streaming := make(chan bool, 1)
	go k.watchEvents(ctx, streaming)
	seen := map[string]string{}
	period := pollPeriod
	var last time.Time // the previous relist's start
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-streaming:
			period = pollPeriod
			if s {
				period = k.opts.RelistPeriod
			}
			continue
		case <-t.C:
		}
		start := time.Now()
		seen = k.relist(ctx, seen)
		k.opts.Metrics.Relisted(start, last)
		last = start
		t.Reset(period)
	}
}

// relist compares every sandbox and container with the last relist and
// wakes (or starts) the worker of each pod with a change.
func (k *Kubelet) relist(ctx context.Context, prev map[string]string) map[string]string {
	now := map[string]string{}
	owner := map[string]types.UID{}
	sbs, err := k.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		k.log.Warn("relist sandboxes", "err", err)
		return prev
	}
	for _, sb := range sbs.Items {
		if uid := sb.Labels[labelPodUID]; uid != "" {
			now[sb.Id] = sb.State.String()
			owner[sb.Id] = types.UID(uid)
		}
	}
	cs, err := k.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		k.log.Warn("relist containers", "err", err)
		return prev
	}
	for _, c := range cs.Containers {
		if uid := c.Labels[labelPodUID]; uid != "" {
			now[c.Id] = c.State.String()
			owner[c.Id] = types.UID(uid)
		}
	}
	changed := map[types.UID]bool{}
	for id, st := range now {
		if prev[id] != st {
			changed[owner[id]] = true
		}
	}
	for uid := range changed {
		k.worker(uid).poke()
	}
	return now
}

// watchEvents follows the runtime's container events and wakes the
// pods they belong to; it tells relistLoop whether the stream works.
func (k *Kubelet) watchEvents(ctx context.Context, streaming chan<- bool) {
	for ctx.Err() == nil {
		stream, err := k.rt.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
		if err == nil {
			_, err = k.followEvents(stream, streaming)
		}
		select {
		case streaming <- false:
		default:
		}
		if status.Code(err) == codes.Unimplemented {
			k.log.Info("runtime does not stream container events: relisting every second")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (k *Kubelet) followEvents(stream runtimeapi.RuntimeService_GetContainerEventsClient, streaming chan<- bool) (int, error) {
	n := 0
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if n == 0 {
			select {
			case streaming <- true:
			default:
			}
		}
		n++
		if sb := ev.GetPodSandboxStatus(); sb != nil && sb.GetMetadata().GetUid() != "" {
			k.worker(types.UID(sb.Metadata.Uid)).poke()
		}
	}
}
