package testimages

import (
	"archive/tar"
	"fmt"
	"os"
	"os/exec"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BusyboxPath is where Debian's busybox-static puts its binary.
const BusyboxPath = "/bin/busybox"

// BusyboxFiles are the files of the busybox image: /bin/busybox (the
// host's busybox-static) with a symlink in /bin for each of its applets
// (sh, ls, cat, echo, sleep, wget, nc, id, hostname, env, ps, top, mount,
// ...), /etc/passwd and /etc/group with root and nobody, and the usual
// empty directories (/tmp world-writable).
func BusyboxFiles() ([]File, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox image (install busybox-static): %w", err)
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	files := []File{
		{Path: "bin", Type: tar.TypeDir},
		{Path: "dev", Type: tar.TypeDir},
		{Path: "etc", Type: tar.TypeDir},
		{Path: "home", Type: tar.TypeDir},
		{Path: "proc", Type: tar.TypeDir},
		{Path: "root", Type: tar.TypeDir, Mode: 0o700},
		{Path: "sys", Type: tar.TypeDir},
		{Path: "tmp", Type: tar.TypeDir, Mode: 0o1777},
		{Path: "usr", Type: tar.TypeDir},
		{Path: "usr/bin", Type: tar.TypeDir},
		{Path: "var", Type: tar.TypeDir},
		{Path: "etc/passwd", Content: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{Path: "etc/group", Content: "root:x:0:\nnogroup:x:65534:\n"},
		{Path: "bin/busybox", Mode: 0o755, Content: string(bin)},
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		files = append(files, File{Path: "bin/" + applet, Type: tar.TypeSymlink, Link: "busybox"})
	}
	return files, nil
}

// Busybox is a one-layer busybox image (BusyboxFiles), Cmd ["sh"].
func Busybox() (v1.Image, error) {
	files, err := BusyboxFiles()
	if err != nil {
		return nil, err
	}
	l, err := Layer(files...)
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}, l)
}
