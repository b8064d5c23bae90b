package announce

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// arpConn reads and writes ARP frames on one interface (an AF_PACKET
// socket: the kernel answers only for its own addresses, and the
// announced ones are not on the interface).
type arpConn struct {
	f   *os.File
	ifi *net.Interface
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openARP opens the socket on ifi; the caller's thread decides its
// network namespace.
func openARP(ifi *net.Interface) (*arpConn, error) {
	proto := htons(unix.ETH_P_ARP)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return nil, fmt.Errorf("arp: packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("arp: bind to %s: %w", ifi.Name, err)
	}
	// Non-blocking, so the runtime's poller waits for it and Close
	// ends a pending read.
	return &arpConn{f: os.NewFile(uintptr(fd), "arp-"+ifi.Name), ifi: ifi}, nil
}

func (c *arpConn) read(b []byte) (int, error) { return c.f.Read(b) }

func (c *arpConn) write(frame []byte) error {
	if _, err := c.f.Write(frame); err != nil {
		return fmt.Errorf("arp: send on %s: %w", c.ifi.Name, err)
	}
	return nil
}

func (c *arpConn) Close() error { return c.f.Close() }
