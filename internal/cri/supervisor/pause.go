package supervisor

import (
	"os"
	"os/signal"
	"strings"

	"golang.org/x/sys/unix"
)

// Pause is the pause mode of kemudi-supervisor: init of a pod's shared PID
// namespace. It reaps the orphans of the namespace and ends on SIGTERM or
// SIGINT (as init of its namespace it gets no other signal it has no
// handler for, but SIGKILL from outside).
//
// Given readyArg and sysctls (key=value) it first sets those, then
// writes what failed ("" for nothing) to fd 3 and closes it: the holder
// of a pod's user namespace sets the IPC sysctls, which only the
// namespace's own root may write.
func Pause(args []string) int {
	if len(args) > 0 && args[0] == readyArg {
		ready := os.NewFile(3, "ready")
		if err := writeSysctls(parseSysctls(args[1:])); err != nil {
			_, _ = ready.WriteString(err.Error())
			ready.Close()
			return 1
		}
		ready.Close()
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			return 0
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}

// readyArg asks Pause to set sysctls and report on fd 3 first.
const readyArg = "--sysctls-then-ready"

func parseSysctls(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			out[k] = v
		}
	}
	return out
}
