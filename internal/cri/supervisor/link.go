package supervisor

import (
	"encoding/json"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The keeper and its supervisor talk over a SOCK_SEQPACKET socket pair
// (the supervisor's fd 3): one JSON message per packet, with file
// descriptors attached where the message carries some.

// linkFD is the supervisor's end of the pair.
const linkFD = 3

type linkOp string

const (
	// supervisor → keeper
	opHold     linkOp = "hold"     // keep these fds (a container's stdio) for ID
	opDrop     linkOp = "drop"     // forget ID's fds
	opShutdown linkOp = "shutdown" // the supervisor is exiting on purpose: do not restart it
	// keeper → supervisor
	opFDs   linkOp = "fds"   // the fds held for ID (sent after a supervisor start)
	opReady linkOp = "ready" // every held fd was sent
	opExit  linkOp = "exit"  // an orphan the keeper reaped
)

type linkMsg struct {
	Op     linkOp `json:"op"`
	ID     string `json:"id,omitempty"`
	Pid    int    `json:"pid,omitempty"`
	Status int    `json:"status,omitempty"` // raw wait status
	Time   int64  `json:"time,omitempty"`   // unix nanoseconds of the reaping
}

type link struct{ c *net.UnixConn }

func newLink(f *os.File) (*link, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("keeper link: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("keeper link: not a unix socket")
	}
	return &link{c: uc}, nil
}

func socketPair() (a, b *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "link"), os.NewFile(uintptr(fds[1]), "link"), nil
}

func (l *link) send(m linkMsg, files ...*os.File) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	_, _, err = l.c.WriteMsgUnix(data, oob, nil)
	return err
}

// recv returns the next message and the files that came with it.
func (l *link) recv() (linkMsg, []*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(16*4))
	n, oobn, _, _, err := l.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return linkMsg{}, nil, err
	}
	if n == 0 {
		return linkMsg{}, nil, net.ErrClosed
	}
	var files []*os.File
	if oobn > 0 {
		scms, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return linkMsg{}, nil, fmt.Errorf("keeper link: %w", err)
		}
		for _, scm := range scms {
			fds, err := unix.ParseUnixRights(&scm)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				unix.CloseOnExec(fd)
				files = append(files, os.NewFile(uintptr(fd), "held"))
			}
		}
	}
	var m linkMsg
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeFiles(files)
		return linkMsg{}, nil, fmt.Errorf("keeper link: bad message: %w", err)
	}
	return m, files, nil
}

func (l *link) Close() error { return l.c.Close() }

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}
