package supervisor

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// Pause is the pause mode of kemudi-supervisor: init of a pod's shared PID
// namespace. It reaps the orphans of the namespace and ends on SIGTERM or
// SIGINT (as init of its namespace it gets no other signal it has no
// handler for, but SIGKILL from outside).
func Pause() int {
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
