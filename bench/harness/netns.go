package harness

import (
	"github.com/kemudi/kemudi/internal/netnsrun"
)

// InNetns runs fn on an OS thread that has joined the network namespace
// at path: sockets fn opens stay in that namespace after it returns.
func InNetns(path string, fn func() error) error { return netnsrun.Run(path, fn) }
