package harness

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// InNetns runs fn on an OS thread that has joined the network namespace
// at path: sockets fn opens stay in that namespace after it returns. fn
// runs on a goroutine of its own, so that a thread that cannot return to
// its namespace is thrown away with that goroutine instead of serving
// the caller from the wrong namespace.
func InNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("this thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("network namespace %s: %w", path, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		fnErr := fn()
		if err := netns.Set(orig); err != nil {
			// Still locked: the thread ends with this goroutine.
			errc <- errors.Join(fnErr, fmt.Errorf("leave network namespace %s: %w", path, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}
