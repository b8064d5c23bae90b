package cri

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// Each container life-cycle event reaches GetContainerEvents once:
// CREATED and DELETED come from the verbs that change the records, the
// supervisor's events and resyncs bring STARTED and STOPPED.
func TestCRIEventType(t *testing.T) {
	const (
		created = runtimeapi.ContainerState_CONTAINER_CREATED
		running = runtimeapi.ContainerState_CONTAINER_RUNNING
		exited  = runtimeapi.ContainerState_CONTAINER_EXITED
	)
	for _, tc := range []struct {
		name          string
		ev            supervisor.EventType
		before, after runtimeapi.ContainerState
		want          runtimeapi.ContainerEventType
		ok            bool
	}{
		{"created after CreateContainer's record", supervisor.EventCreated, created, created, 0, false},
		{"started", supervisor.EventStarted, created, running, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, true},
		{"exited", supervisor.EventExited, running, exited, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, true},
		{"deleted", supervisor.EventDeleted, exited, exited, 0, false},
		{"resync, nothing new", -1, running, running, 0, false},
		{"resync finds it running", -1, created, running, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, true},
		{"resync finds it exited", -1, running, exited, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := criEventType(tc.ev, tc.before, tc.after)
			if got != tc.want || ok != tc.ok {
				t.Errorf("criEventType = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
