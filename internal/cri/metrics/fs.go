package metrics

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Filesystem is the filesystem a container's writable layer is on.
type Filesystem struct {
	Device                  string // as cAdvisor names it: /dev/vda
	Capacity                uint64 // bytes
	InodesTotal, InodesFree uint64
}

// blkioEntry is one device's count of one operation (Read, Write, Sync,
// Async, Discard, Total), in bytes or in operations.
type blkioEntry struct {
	Major, Minor uint64
	Op           string
	Value        uint64
}

// blkioFigures are a cgroup's block IO: bytes and operations per device.
type blkioFigures struct {
	Bytes, Ops []blkioEntry
}

// readBlkio reads v1's blkio counters (the CFQ/BFQ files when the IO
// scheduler keeps them, else the throttle layer's, which count only on
// devices with a throttle rule: on others they are empty, and cAdvisor
// reports no series) or v2's io.stat.
func readBlkio(d cgroupDirs) blkioFigures {
	if d.v2 {
		b, err := d.read("io", "io.stat")
		if err != nil {
			return blkioFigures{}
		}
		return parseIOStat(b)
	}
	var f blkioFigures
	for _, prefix := range []string{"blkio.", "blkio.throttle."} {
		bb, err1 := d.read("blkio", prefix+"io_service_bytes_recursive")
		ob, err2 := d.read("blkio", prefix+"io_serviced_recursive")
		if err1 != nil || err2 != nil {
			continue
		}
		f = blkioFigures{Bytes: parseBlkio(bb), Ops: parseBlkio(ob)}
		if len(f.Bytes) > 0 {
			break
		}
	}
	return f
}

// parseBlkio parses a v1 blkio file ("254:0 Read 4198400" lines and a
// last "Total N").
func parseBlkio(b []byte) []blkioEntry {
	var out []blkioEntry
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) != 3 {
			continue
		}
		maj, min, ok := parseDevice(f[0])
		v, err := strconv.ParseUint(f[2], 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, blkioEntry{Major: maj, Minor: min, Op: f[1], Value: v})
	}
	return out
}

// parseIOStat parses v2's io.stat ("254:0 rbytes=1 wbytes=2 rios=3
// wios=4 dbytes=0 dios=0" lines) into v1's shape.
func parseIOStat(b []byte) blkioFigures {
	var f blkioFigures
	for line := range bytes.Lines(b) {
		fs := strings.Fields(string(line))
		if len(fs) < 2 {
			continue
		}
		maj, min, ok := parseDevice(fs[0])
		if !ok {
			continue
		}
		kv := map[string]uint64{}
		for _, p := range fs[1:] {
			k, v, _ := strings.Cut(p, "=")
			kv[k], _ = strconv.ParseUint(v, 10, 64)
		}
		for _, op := range []struct{ name, bytes, ops string }{
			{"Read", "rbytes", "rios"}, {"Write", "wbytes", "wios"}, {"Discard", "dbytes", "dios"},
		} {
			f.Bytes = append(f.Bytes, blkioEntry{maj, min, op.name, kv[op.bytes]})
			f.Ops = append(f.Ops, blkioEntry{maj, min, op.name, kv[op.ops]})
		}
	}
	return f
}

func parseDevice(s string) (major, minor uint64, ok bool) {
	a, b, found := strings.Cut(s, ":")
	maj, err1 := strconv.ParseUint(a, 10, 64)
	min, err2 := strconv.ParseUint(b, 10, 64)
	return maj, min, found && err1 == nil && err2 == nil
}

// deviceName names a block device as cAdvisor does (/dev/vda), from
// sysfs's uevent; "major:minor" when sysfs does not know it (a
// filesystem without a block device, such as tmpfs or overlay).
func deviceName(sysRoot string, major, minor uint64) string {
	id := fmt.Sprintf("%d:%d", major, minor)
	b, err := readFile(filepath.Join(sysRoot, "dev", "block", id, "uevent"))
	if err != nil {
		return id
	}
	for line := range bytes.Lines(b) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(string(line)), "DEVNAME="); ok {
			return "/dev/" + name
		}
	}
	return id
}

// statFilesystem reads the size, inodes and device of the filesystem
// holding dir.
func statFilesystem(sysRoot, dir string) (Filesystem, error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		return Filesystem{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return Filesystem{}, fmt.Errorf("stat %s: %w", dir, err)
	}
	return Filesystem{
		Device:      deviceName(sysRoot, uint64(unix.Major(st.Dev)), uint64(unix.Minor(st.Dev))),
		Capacity:    sfs.Blocks * uint64(sfs.Bsize),
		InodesTotal: sfs.Files,
		InodesFree:  sfs.Ffree,
	}, nil
}

// Layer is a container's writable layer: what it takes, on which
// filesystem.
type Layer struct {
	Bytes, Inodes uint64
	FS            Filesystem
}

// fs adds the writable layer's usage against its filesystem (cAdvisor's
// container_fs_*: usage is the container's, limit and inodes the
// filesystem's) and the block IO per device.
func (s *series) fs(l *Layer, io blkioFigures, names func(major, minor uint64) string) {
	if l != nil {
		dev := l.FS.Device
		s.add("container_fs_usage_bytes", gauge, l.Bytes, dev)
		s.add("container_fs_limit_bytes", gauge, l.FS.Capacity, dev)
		s.add("container_fs_inodes_total", gauge, l.FS.InodesTotal, dev)
		s.add("container_fs_inodes_free", gauge, l.FS.InodesFree, dev)
	}
	for _, e := range io.Bytes {
		dev := names(e.Major, e.Minor)
		s.add("container_blkio_device_usage_total", counter, e.Value, dev, strconv.FormatUint(e.Major, 10), strconv.FormatUint(e.Minor, 10), e.Op)
		switch e.Op {
		case "Read":
			s.add("container_fs_reads_bytes_total", counter, e.Value, dev)
		case "Write":
			s.add("container_fs_writes_bytes_total", counter, e.Value, dev)
		}
	}
	for _, e := range io.Ops {
		switch e.Op {
		case "Read":
			s.add("container_fs_reads_total", counter, e.Value, names(e.Major, e.Minor))
		case "Write":
			s.add("container_fs_writes_total", counter, e.Value, names(e.Major, e.Minor))
		}
	}
}
