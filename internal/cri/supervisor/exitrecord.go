package supervisor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// exitRecord is how the keeper tells a supervisor that is down (or not yet
// up) how an orphan ended: a file exits/<pid>.json.
type exitRecord struct {
	Pid    int   `json:"pid"`
	Status int   `json:"status"`
	Time   int64 `json:"time"`
}

func (r exitRecord) waitStatus() unix.WaitStatus { return unix.WaitStatus(r.Status) }
func (r exitRecord) at() time.Time               { return time.Unix(0, r.Time) }

func exitRecordPath(dir string, pid int) string {
	return filepath.Join(dir, strconv.Itoa(pid)+".json")
}

func writeExitRecord(dir string, r exitRecord) error {
	return writeJSON(exitRecordPath(dir, r.Pid), r)
}

func removeExitRecord(dir string, pid int) {
	if err := os.Remove(exitRecordPath(dir, pid)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
}

// readExitRecords returns the records in dir by pid.
func readExitRecords(dir string) (map[int]exitRecord, error) {
	out := map[int]exitRecord{}
	err := readJSONDir(dir, func(_ string, data []byte) error {
		var r exitRecord
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		out[r.Pid] = r
		return nil
	})
	return out, err
}
