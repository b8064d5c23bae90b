package cri

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

func TestStorePrefixLookupAndReload(t *testing.T) {
	dir := t.TempDir()
	s := newStore(dir, "container.json", containerID)
	ids := []string{"abc1" + strings.Repeat("0", 60), "abc2" + strings.Repeat("0", 60), "ffff" + strings.Repeat("1", 60)}
	for _, id := range ids {
		if err := s.add(container{ID: id, SandboxID: "sb"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.add(container{ID: ids[0]}); err == nil {
		t.Error("adding an existing id succeeded")
	}
	for _, tc := range []struct {
		lookup, want string
		err          error
	}{
		{ids[0], ids[0], nil},
		{"abc2", ids[1], nil},
		{"f", ids[2], nil},
		{"abc", "", errAmbiguous},
		{"0123", "", errNotFound},
		{"", "", errNotFound},
	} {
		got, err := s.get(tc.lookup)
		if !errors.Is(err, tc.err) || got.ID != tc.want {
			t.Errorf("get(%q) = %q, %v; want %q, %v", tc.lookup, got.ID, err, tc.want, tc.err)
		}
	}
	if _, err := s.update(ids[1], func(c *container) error { c.ExitCode = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.remove(ids[2]); err != nil {
		t.Fatal(err)
	}

	reloaded := newStore(dir, "container.json", containerID)
	if err := reloaded.load(); err != nil {
		t.Fatal(err)
	}
	got := reloaded.list()
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] || got[1].ExitCode != 3 {
		t.Errorf("after reload: %+v", got)
	}
}

// A record the machine's stop left empty (records are not fsynced) is
// taken for none, as a directory whose record was never written.
func TestStoreSkipsEmptyRecord(t *testing.T) {
	dir := t.TempDir()
	s := newStore(dir, "container.json", containerID)
	for _, id := range []string{"kept", "emptied"} {
		if err := s.add(container{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.recordDir("emptied"), "container.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	reloaded := newStore(dir, "container.json", containerID)
	if err := reloaded.load(); err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := reloaded.list(); len(got) != 1 || got[0].ID != "kept" {
		t.Errorf("after reload: %+v, want only the record that was kept", got)
	}
}

// An update whose fn finds nothing to change writes nothing.
func TestStoreUpdateUnchanged(t *testing.T) {
	s := newStore(t.TempDir(), "container.json", containerID)
	if err := s.add(container{ID: "c", ExitCode: 1}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(s.recordDir("c"), "container.json")
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	got, err := s.update("c", func(c *container) error { c.ExitCode = 2; return errUnchanged })
	if err != nil || got.ExitCode != 1 {
		t.Errorf("update = %+v, %v; want the record as it was", got, err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("record written: %v", err)
	}
	if c, _ := s.get("c"); c.ExitCode != 1 {
		t.Errorf("record changed to %+v", c)
	}
}

// TestMergeStateMovesForward: a late reply never takes a container back
// from EXITED to RUNNING.
func TestMergeStateMovesForward(t *testing.T) {
	for _, tc := range []struct {
		name string
		from runtimeapi.ContainerState
		st   supervisor.Status
		want runtimeapi.ContainerState
	}{
		{"created to running", runtimeapi.ContainerState_CONTAINER_CREATED, supervisor.Running, runtimeapi.ContainerState_CONTAINER_RUNNING},
		{"running to exited", runtimeapi.ContainerState_CONTAINER_RUNNING, supervisor.Exited, runtimeapi.ContainerState_CONTAINER_EXITED},
		{"exited stays exited", runtimeapi.ContainerState_CONTAINER_EXITED, supervisor.Running, runtimeapi.ContainerState_CONTAINER_EXITED},
		{"unknown to exited", runtimeapi.ContainerState_CONTAINER_UNKNOWN, supervisor.Exited, runtimeapi.ContainerState_CONTAINER_EXITED},
		{"lost", runtimeapi.ContainerState_CONTAINER_RUNNING, supervisor.Unknown, runtimeapi.ContainerState_CONTAINER_UNKNOWN},
	} {
		c := container{State: tc.from}
		mergeState(&c, supervisor.State{Status: tc.st})
		if c.State != tc.want {
			t.Errorf("%s: %v", tc.name, c.State)
		}
	}
}
