package cri

import (
	"context"
	"reflect"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// followSupervisor mirrors the supervisor's container events into the
// records until ctx ends; when the stream breaks it subscribes again and
// resynchronizes from a full list, so that no exit is missed.
func (r *Runtime) followSupervisor(ctx context.Context) {
	for ctx.Err() == nil {
		ch, err := r.supervisor.Events(ctx)
		if err != nil {
			r.log.Warn("subscribe to supervisor events", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		r.resync(ctx)
		for ev := range ch {
			r.applyState(ev.State, ev.Type)
		}
	}
}

// resync applies the supervisor's current view of every container.
func (r *Runtime) resync(ctx context.Context) {
	states, err := r.supervisor.List(ctx)
	if err != nil {
		r.log.Warn("list supervisor containers", "err", err)
		return
	}
	for _, st := range states {
		r.applyState(st, -1)
	}
}

// applyState records what the supervisor says of a container and tells
// event subscribers when it changed (t < 0: a resync, event only on change).
func (r *Runtime) applyState(st supervisor.State, t supervisor.EventType) {
	var before runtimeapi.ContainerState
	c, err := r.containers.update(st.ID, func(c *container) error {
		before = c.State
		prev := *c
		mergeState(c, st)
		if reflect.DeepEqual(prev, *c) {
			return errUnchanged
		}
		return nil
	})
	if err != nil {
		return // not ours (yet): CreateContainer records it from the reply
	}
	r.events.notifyChange()
	evType, ok := criEventType(t, before, c.State)
	if ok {
		r.emitContainerEvent(c.ID, c.SandboxID, evType)
	}
}

// mergeState copies the supervisor's state into a record. A container only
// moves forward (CREATED, RUNNING, EXITED): a reply that raced with a later
// event (Start's answer after the exit of a short-lived container) is old
// news and ignored.
func mergeState(c *container, st supervisor.State) {
	if stateRank(c.State) > statusRank(st.Status) {
		return
	}
	switch st.Status {
	case supervisor.Created:
		c.State = runtimeapi.ContainerState_CONTAINER_CREATED
	case supervisor.Running:
		c.State = runtimeapi.ContainerState_CONTAINER_RUNNING
	case supervisor.Exited:
		c.State = runtimeapi.ContainerState_CONTAINER_EXITED
	default:
		c.State = runtimeapi.ContainerState_CONTAINER_UNKNOWN
	}
	c.Pid = st.Pid
	if t := unixNano(st.StartedAt); t != 0 {
		c.StartedAt = t
	}
	if t := unixNano(st.FinishedAt); t != 0 {
		c.FinishedAt = t
	}
	c.ExitCode = st.ExitCode
	c.OOMKilled = st.OOMKilled
	c.Reason, c.Message = st.Reason, st.Message
}

func criEventType(t supervisor.EventType, before, after runtimeapi.ContainerState) (runtimeapi.ContainerEventType, bool) {
	if t < 0 {
		if before == after {
			return 0, false
		}
		switch after {
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			return runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, true
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			return runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, true
		}
		return 0, false
	}
	switch t {
	case supervisor.EventStarted:
		return runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, true
	case supervisor.EventExited:
		return runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, true
	}
	// Created: CreateContainer tells, once the record exists (the
	// supervisor's event may come after that, and is not news then).
	// Deleted: RemoveContainer tells, once the record is gone.
	return 0, false
}

func stateRank(s runtimeapi.ContainerState) int {
	switch s {
	case runtimeapi.ContainerState_CONTAINER_CREATED:
		return 0
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		return 1
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		return 2
	}
	return -1 // UNKNOWN: whatever the supervisor says next is news
}

func statusRank(s supervisor.Status) int {
	switch s {
	case supervisor.Created:
		return 0
	case supervisor.Running:
		return 1
	case supervisor.Exited:
		return 2
	}
	return 3 // the supervisor lost it: say so, whatever we knew
}
