package cri

import (
	"context"
	"sync"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// broker fans CRI container events out to GetContainerEvents streams, and
// wakes verbs waiting for a record to change (StopContainer).
type broker struct {
	mu      sync.Mutex
	subs    map[chan *runtimeapi.ContainerEventResponse]struct{}
	changed chan struct{}
}

// subscribe returns a stream of events and its cancel. A subscriber too
// slow to keep 256 events buffered misses events (the kubelet relists).
func (b *broker) subscribe() (<-chan *runtimeapi.ContainerEventResponse, func()) {
	ch := make(chan *runtimeapi.ContainerEventResponse, 256)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan *runtimeapi.ContainerEventResponse]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}
}

// listening tells whether a stream is subscribed: without one an event
// is not worth building (the statuses of its pod and containers).
func (b *broker) listening() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs) > 0
}

func (b *broker) publish(ev *runtimeapi.ContainerEventResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// changes returns a channel closed at the next change of any record.
func (b *broker) changes() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

func (b *broker) notifyChange() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
}

func (b *broker) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// waitContainer waits until the container's record satisfies done, or
// ctx ends; a removed record counts as done.
func (r *Runtime) waitContainer(ctx context.Context, id string, done func(container) bool) error {
	for {
		ch := r.events.changes()
		c, err := r.containers.get(id)
		if err != nil || done(c) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// emitContainerEvent tells GetContainerEvents streams about a container,
// with its pod's statuses as the kubelet's evented PLEG expects.
func (r *Runtime) emitContainerEvent(id, sandboxID string, t runtimeapi.ContainerEventType) {
	if !r.events.listening() {
		return
	}
	ev := &runtimeapi.ContainerEventResponse{ContainerId: id, ContainerEventType: t, CreatedAt: now()}
	if sb, err := r.sandboxes.get(sandboxID); err == nil {
		ev.PodSandboxStatus = r.sandboxStatus(sb)
		for _, c := range r.containersOf(sandboxID) {
			ev.ContainersStatuses = append(ev.ContainersStatuses, r.containerStatus(c))
		}
	}
	r.events.publish(ev)
}

// GetContainerEvents streams container and sandbox life-cycle events.
func (r *Runtime) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	ch, cancel := r.events.subscribe()
	defer cancel()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
}
