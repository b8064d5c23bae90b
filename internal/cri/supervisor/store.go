package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// record is what the supervisor persists of a container, one JSON file
// each, so that a restarted supervisor knows its containers again.
type record struct {
	ID        string `json:"id"`
	SandboxID string `json:"sandboxId,omitempty"`
	LogPath   string `json:"logPath,omitempty"`
	Stdin     bool   `json:"stdin,omitempty"`
	StdinOnce bool   `json:"stdinOnce,omitempty"`
	// StdinClosed: the first attachment of a StdinOnce container ended,
	// and its stdin with it.
	StdinClosed bool `json:"stdinClosed,omitempty"`
	TTY         bool `json:"tty,omitempty"`
	// Process is the spec's process: exec'd commands run like it.
	Process *specs.Process `json:"process,omitempty"`
	State   State          `json:"state"`
}

// writeJSON replaces path atomically (write, rename), so that a crash of
// the supervisor leaves the old or the new content, never half of one.
// There is no fsync: the state must survive the supervisor, not the
// machine (after a reboot no container runs any more), and two fsyncs per
// container would cost more than the rest of its start.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readJSONDir decodes every *.json file of dir with decode; a file that
// does not decode is reported and skipped.
func readJSONDir(dir string, decode func(name string, data []byte) error) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			err = decode(strings.TrimSuffix(e.Name(), ".json"), data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}
