package supervisor

import (
	"os"
	"strconv"
	"strings"
)

// oomScoreFloor returns the lowest oom_score_adj a container may get: the
// supervisor's own when lowering it is refused (some machines refuse it even
// to root, with EPERM, and runc init would then fail the container), else
// the kernel's minimum.
func oomScoreFloor() int {
	const path = "/proc/self/oom_score_adj"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || own <= -1000 {
		return -1000
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(own-1)), 0); err != nil {
		return own
	}
	// Raising it back is always allowed.
	os.WriteFile(path, []byte(strconv.Itoa(own)), 0)
	return -1000
}

// clampOOMScore raises a spec's oom_score_adj to floor: a best effort, as
// containerd's restrict_oom_score_adj.
func clampOOMScore(adj *int, floor int) {
	if adj != nil && *adj < floor {
		*adj = floor
	}
}
