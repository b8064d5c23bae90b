package kubelet_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/kubelet"
	"github.com/kemudi/kemudi/internal/kubelet/server"
)

// TestLogRotation: a container writing fast keeps a bounded log
// directory (the current log and at most MaxFiles-1 rotated files, all
// but the newest gzipped), and the log as pods/log reads it still ends
// with the newest lines.
func TestLogRotation(t *testing.T) {
	const maxSize, maxFiles = 16 << 10, 3
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			n := startNodeWith(t, rt, func(o *kubelet.Options) {
				o.ContainerLogMaxSize, o.ContainerLogMaxFiles = maxSize, maxFiles
				o.ContainerLogMonitorInterval = time.Second
			})
			testLogRotation(t, n, maxSize, maxFiles)
		})
	}
}

func testLogRotation(t *testing.T, n *node, maxSize int64, maxFiles int) {
	ctx := context.Background()
	// About 100 bytes a line, a line every half millisecond at most.
	p := pod("chatty", corev1.RestartPolicyAlways, n.rt.Images["busybox"],
		`i=0; pad=$(printf '%080d' 0); while true; do echo "line $i $pad"; i=$((i+1)); usleep 500; done`)
	p, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(n.rt.Dir, "pods", "default_chatty_"+string(p.UID), "main")
	current := filepath.Join(dir, "0.log")
	t.Cleanup(func() {
		_ = n.c.CoreV1().Pods("default").Delete(context.Background(), "chatty", metav1.DeleteOptions{})
	})
	// Bounded all along: checked at every poll until two rotations
	// have been compressed.
	until(t, "two compressed rotated logs", timeout, func(context.Context) (bool, error) {
		files, err := logFiles(dir)
		if err != nil {
			return false, err
		}
		if len(files) > maxFiles {
			t.Fatalf("%d log files, want at most %d: %v", len(files), maxFiles, files)
		}
		gz := 0
		for _, f := range files {
			if strings.HasSuffix(f, ".gz") {
				gz++
			}
		}
		// With 3 files: the current, the newest rotated uncompressed,
		// one compressed; a second .gz appears only through removal.
		if gz == 0 || len(files) < maxFiles {
			return false, fmt.Errorf("files %v", files)
		}
		return true, nil
	})
	files, _ := logFiles(dir)
	var newestRotated, compressed string
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".gz"):
			compressed = f
		case f != "0.log":
			newestRotated = f
		}
	}
	if newestRotated == "" || compressed == "" || compressed > newestRotated {
		t.Fatalf("want the newest rotated file uncompressed, older ones compressed: %v", files)
	}
	old := firstLineNumber(t, gunzip(t, filepath.Join(dir, compressed)))

	// What `kubectl logs --tail=3` reads: the current file's last lines,
	// consecutive and newer than anything rotated.
	until(t, "the newest lines through the log reader", 30*time.Second, func(ctx context.Context) (bool, error) {
		var out bytes.Buffer
		if err := server.ReadLogs(ctx, current, server.LogOptions{Tail: 3}, &out, nil, nil); err != nil {
			return false, err
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 3 {
			return false, fmt.Errorf("tail 3: %q", out.String())
		}
		first := lineNumber(lines[0])
		for i, l := range lines {
			if lineNumber(l) != first+i {
				return false, fmt.Errorf("not consecutive: %q", lines)
			}
		}
		if first <= old {
			return false, fmt.Errorf("tail starts at line %d, not after the rotated file's %d", first, old)
		}
		return true, nil
	})
	if fi, err := os.Stat(current); err != nil || fi.Size() > 20*maxSize {
		t.Errorf("current log: %v, %v; want it rotated near %d bytes", fi, err, maxSize)
	}
}

// logFiles are the container's log files, a file half-compressed counted
// once (the plain and the .gz of one rotation, or the .tmp being written).
func logFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range ents {
		base := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".tmp"), ".gz")
		if !seen[base] {
			seen[base] = true
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}

// firstLineNumber is N of the first "line N" in a CRI log.
func firstLineNumber(t *testing.T, cri string) int {
	for _, l := range strings.Split(cri, "\n") {
		// <time> stdout F line N pad
		if f := strings.SplitN(l, " ", 4); len(f) == 4 {
			if n := lineNumber(f[3]); n >= 0 {
				return n
			}
		}
	}
	t.Fatalf("no line in the rotated log: %.200q", cri)
	return -1
}

func lineNumber(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 || f[0] != "line" {
		return -1
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return n
}
