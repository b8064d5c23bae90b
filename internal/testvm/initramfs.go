package testvm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// busybox is the static busybox (Debian's busybox-static) the guest's first
// stage runs on; its modprobe loads the guest's modules.
const busybox = "/bin/busybox"

// bootModules are what the first stage needs to mount the machine's files
// (9p over virtio) and the overlay above them; modules.dep adds theirs.
var bootModules = []string{"virtio_pci", "9pnet_virtio", "9p", "overlay"}

// initramfs is the guest's first stage: busybox, the boot modules with
// the kernel's modules.dep, and init, as a gzipped newc cpio archive.
func initramfs(k Kernel, init []byte) ([]byte, error) {
	mods, err := moduleClosure(k.modules(), bootModules)
	if err != nil {
		return nil, err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	dep, err := os.ReadFile(filepath.Join(k.modules(), "modules.dep"))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	w := &cpioWriter{w: zw}
	for _, d := range []string{"bin", "dev", "proc", "sys", "lower", "upper", "newroot"} {
		w.dir(d)
	}
	w.file("init", 0o755, init)
	w.file("bin/busybox", 0o755, bb)
	for _, applet := range []string{"sh", "mount", "umount", "mkdir", "modprobe", "switch_root", "echo", "poweroff"} {
		w.symlink("bin/"+applet, "busybox")
	}
	modDir := path.Join("lib/modules", k.Release)
	w.dir("lib")
	w.dir("lib/modules")
	w.dir(modDir)
	w.file(path.Join(modDir, "modules.dep"), 0o644, dep)
	made := map[string]bool{}
	for _, m := range mods {
		for d := path.Dir(m); d != "." && !made[d]; d = path.Dir(d) {
			made[d] = true
		}
	}
	dirs := make([]string, 0, len(made))
	for d := range made {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // parents first
	for _, d := range dirs {
		w.dir(path.Join(modDir, d))
	}
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(k.modules(), m))
		if err != nil {
			return nil, err
		}
		w.file(path.Join(modDir, m), 0o644, b)
	}
	w.trailer()
	if w.err != nil {
		return nil, w.err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// moduleClosure is the files (relative to modules) of the named modules
// and every module they depend on, by modules.dep.
func moduleClosure(modules string, names []string) ([]string, error) {
	f, err := os.Open(filepath.Join(modules, "modules.dep"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	deps := map[string][]string{} // module file: the files it needs
	byName := map[string]string{} // module name: its file
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		file, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[file] = strings.Fields(rest)
		byName[moduleName(file)] = file
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	var add func(file string)
	add = func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		out = append(out, file)
		for _, d := range deps[file] {
			add(d)
		}
	}
	for _, n := range names {
		file, ok := byName[n]
		if !ok {
			// Built into the kernel: nothing to load.
			if builtin, err := os.ReadFile(filepath.Join(modules, "modules.builtin")); err == nil && bytes.Contains(builtin, []byte("/"+n+".ko\n")) {
				continue
			}
			return nil, fmt.Errorf("module %s: not in %s/modules.dep", n, modules)
		}
		add(file)
	}
	sort.Strings(out)
	return out, nil
}

// moduleName is the name modprobe knows a module file by: kernel/fs/9p/9p.ko
// is 9p, and dashes are underscores.
func moduleName(file string) string {
	base := path.Base(file)
	base = base[:strings.Index(base+".ko", ".ko")]
	return strings.ReplaceAll(base, "-", "_")
}

// cpioWriter writes the newc format the kernel unpacks an initramfs from;
// the first error sticks.
type cpioWriter struct {
	w   io.Writer
	ino int
	err error
}

const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
)

func (c *cpioWriter) dir(name string)                      { c.entry(name, modeDir|0o755, nil) }
func (c *cpioWriter) file(name string, perm int, b []byte) { c.entry(name, modeFile|perm, b) }
func (c *cpioWriter) symlink(name, target string)          { c.entry(name, modeSymlink|0o777, []byte(target)) }
func (c *cpioWriter) trailer()                             { c.entry("TRAILER!!!", 0, nil) }

func (c *cpioWriter) entry(name string, mode int, data []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := 1
	if mode&modeDir != 0 {
		nlink = 2
	}
	// magic, then ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize and check in hex.
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	var b bytes.Buffer
	b.WriteString(hdr)
	b.WriteString(name)
	b.WriteByte(0)
	pad(&b)
	b.Write(data)
	pad(&b)
	_, c.err = c.w.Write(b.Bytes())
}

// pad aligns the archive to 4 bytes, as newc requires after a name and
// after data.
func pad(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}
