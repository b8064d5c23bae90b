package metrics

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// readFile reads a small kernel file (cgroup, /proc, sysfs) with plain
// open, read and close. os.ReadFile registers pollable files, which
// cgroup files are, with the runtime's netpoller: four more system calls
// a file, most of a scrape's cost with ~20 files a container.
func readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}
