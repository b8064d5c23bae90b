package network

import (
	"os"
	"path/filepath"
)

// The network's state on disk (reservations, records) is written without
// fsync: it must survive a crash of the runtime, and written data does (the
// page cache outlives the process). A crash of the machine takes every pod
// with it, so a reservation or record lost or torn then has nothing left to
// protect; Reconcile frees what it cannot read. An fsync per write cost
// several milliseconds per pod on this machine's ext4.

// writeFileAtomic replaces path with data through a temporary file, so that
// readers see the old content or the new one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
