package kubelet

import (
	"bytes"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's limits on termination messages.
const (
	maxMessageBytes = 4096
	maxLogTailBytes = 2048
	maxLogTailLines = 80
)

// readMessages reads the termination message of each exited container
// once: the file the container wrote, or (FallbackToLogsOnError, after
// a failure with no file) the tail of its log.
func (w *worker) readMessages(state PodState) {
	live := map[string]bool{}
	for _, cs := range state.Containers {
		live[cs.Id] = true
	}
	for id := range w.messages {
		if !live[id] {
			delete(w.messages, id)
		}
	}
	for _, cs := range state.Containers {
		if cs.State != runtimeapi.ContainerState_CONTAINER_EXITED {
			continue
		}
		if _, done := w.messages[cs.Id]; done {
			continue
		}
		w.messages[cs.Id] = terminationMessage(cs)
	}
}

func terminationMessage(cs *runtimeapi.ContainerStatus) string {
	path := cs.Annotations[annotationTerminationPath]
	msg := ""
	if path != "" {
		for _, m := range cs.Mounts {
			if m.ContainerPath == path {
				msg = readLimited(m.HostPath, maxMessageBytes)
			}
		}
	}
	if msg == "" && cs.Message != "" {
		msg = cs.Message
	}
	if msg == "" && cs.ExitCode != 0 && cs.Annotations[annotationTerminationPolicy] == string(corev1.TerminationMessageFallbackToLogsOnError) {
		msg = logTail(cs.LogPath)
	}
	return msg
}

func readLimited(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return string(b)
}

// logTail is the last lines of a CRI log file, without the CRI prefix
// ("<time> <stream> <P|F> ").
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLogTailLines {
		lines = lines[len(lines)-maxLogTailLines:]
	}
	var out strings.Builder
	for _, l := range lines {
		f := bytes.SplitN(l, []byte(" "), 4)
		if len(f) == 4 {
			out.Write(f[3])
			if string(f[2]) == "F" {
				out.WriteByte('\n')
			}
		}
	}
	s := out.String()
	if len(s) > maxLogTailBytes {
		s = s[len(s)-maxLogTailBytes:]
	}
	return s
}
