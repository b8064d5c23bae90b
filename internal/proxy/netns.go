package proxy

import (
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netns"
)

// listenIn opens a TCP listener inside the network namespace at nsPath (""
// for the caller's own). Only the locked thread switches namespaces.
func listenIn(nsPath, addr string) (net.Listener, error) {
	if nsPath == "" {
		return net.Listen("tcp", addr)
	}
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		return nil, fmt.Errorf("enter netns %s: %w", nsPath, err)
	}
	l, lerr := net.Listen("tcp", addr)
	if err := netns.Set(orig); err != nil {
		// The thread is unusable: keep it locked so the runtime drops it.
		runtime.LockOSThread()
		if l != nil {
			l.Close()
		}
		return nil, fmt.Errorf("leave netns %s: %w", nsPath, err)
	}
	return l, lerr
}
