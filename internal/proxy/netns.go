package proxy

import (
	"net"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// listenIn opens a TCP listener inside the network namespace at nsPath (""
// for the caller's own). Only the locked thread switches namespaces.
func listenIn(nsPath, addr string) (net.Listener, error) {
	var l net.Listener
	err := netnsrun.Run(nsPath, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}
