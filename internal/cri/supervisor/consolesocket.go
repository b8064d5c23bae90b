package supervisor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// consoleSocket is where an OCI runtime binary sends the master of the
// terminal it made for a process (--console-socket): a unix socket in a
// directory of its own under the temp dir, whose path stays within the
// 107 bytes a socket address holds wherever the supervisor's root is.
// Without a terminal it is nil, and its methods do nothing.
type consoleSocket struct {
	dir string
	l   *net.UnixListener
}

// consoleWait bounds how long the supervisor waits for the master once
// the binary's command has returned: it was sent by then, or never.
const consoleWait = 5 * time.Second

func listenConsole(tty bool) (*consoleSocket, error) {
	if !tty {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "kemudi-console-")
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "sock"), Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &consoleSocket{dir: dir, l: l}, nil
}

// args are the binary's flags naming the socket.
func (c *consoleSocket) args() []string {
	if c == nil {
		return nil
	}
	return []string{"--console-socket", filepath.Join(c.dir, "sock")}
}

// receive takes the master the binary sent (nil without a terminal).
func (c *consoleSocket) receive() (*os.File, error) {
	if c == nil {
		return nil, nil
	}
	c.l.SetDeadline(time.Now().Add(consoleWait))
	conn, err := c.l.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	defer conn.Close()
	f, err := conn.File()
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	defer f.Close()
	return receiveConsole(f)
}

func (c *consoleSocket) Close() {
	if c == nil {
		return
	}
	c.l.Close()
	os.RemoveAll(c.dir)
}
