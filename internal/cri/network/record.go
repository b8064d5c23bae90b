package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// record is what the network did for a sandbox, written before doing it, so
// that Teardown and Reconcile can undo it without the sandbox's namespace.
type record struct {
	ID           string        `json:"id"`
	Mode         string        `json:"mode"` // "builtin" or "cni"
	NetNS        string        `json:"netns"`
	HostVeth     string        `json:"hostVeth,omitempty"`
	PodCIDRs     []string      `json:"podCIDRs,omitempty"`
	IPs          []string      `json:"ips,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	Name         string        `json:"name,omitempty"`
	Namespace    string        `json:"namespace,omitempty"`
	UID          string        `json:"uid,omitempty"`
	CNINetwork   string        `json:"cniNetwork,omitempty"`
}

const (
	modeBuiltin = "builtin"
	modeCNI     = "cni"
)

type records struct{ dir string }

func (r records) path(id string) string { return filepath.Join(r.dir, id+".json") }

func (r records) put(rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("record sandbox %s: %w", rec.ID, err)
	}
	if err := writeFileAtomic(r.path(rec.ID), b); err != nil {
		return fmt.Errorf("record sandbox %s: %w", rec.ID, err)
	}
	return nil
}

// get returns the sandbox's record, or ok false when there is none.
func (r records) get(id string) (rec record, ok bool, err error) {
	b, err := os.ReadFile(r.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("read record of sandbox %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, false, fmt.Errorf("read record of sandbox %s: %w", id, err)
	}
	return rec, true, nil
}

func (r records) remove(id string) error {
	if err := os.Remove(r.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove record of sandbox %s: %w", id, err)
	}
	return nil
}

// ids lists the sandboxes that have a record.
func (r records) ids() ([]string, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("list sandbox records: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(id, ".") {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
