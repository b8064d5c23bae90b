package proxy

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Socket buffers of the nftables connection. A full rebuild is one
// transaction, and google/nftables sends a transaction in one sendmsg: at
// 10,000 services that is far beyond the default buffer (EMSGSIZE), and
// the kernel's acknowledgements would overflow the receive buffer.
const (
	sendBuffer = 1 << 30
	recvBuffer = 256 << 20
)

// bigBuffers raises the buffers past the sysctl caps (the proxy runs as
// root), falling back to the capped sizes.
func bigBuffers(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer); e != nil {
			e = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, sendBuffer)
			serr = e
		}
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, recvBuffer); e != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, recvBuffer)
		}
	})
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	return serr
}
