package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// keeperLink is the supervisor's side of its link to the keeper. Without a
// keeper (fd 3 not a socket: the supervisor run by hand) it does nothing.
type keeperLink struct {
	mu sync.Mutex
	l  *link
}

// connectKeeper opens the link on fd 3 and receives the stdio the keeper
// held for the containers of the previous supervisor, by container ID.
func connectKeeper(s *server) (*keeperLink, map[string][]*os.File, error) {
	k := &keeperLink{}
	held := map[string][]*os.File{}
	if _, err := unix.Getsockname(linkFD); err != nil {
		s.log.Warn("no keeper link: containers will not survive a crash of this supervisor", "err", err)
		return k, held, nil
	}
	unix.CloseOnExec(linkFD)
	l, err := newLink(os.NewFile(linkFD, "keeper"))
	if err != nil {
		return nil, nil, err
	}
	k.l = l
	deadline := time.Now().Add(10 * time.Second)
	l.c.SetReadDeadline(deadline)
	defer l.c.SetReadDeadline(time.Time{})
	for {
		m, files, err := l.recv()
		if err != nil {
			return nil, nil, fmt.Errorf("keeper link: waiting for held files: %w", err)
		}
		switch m.Op {
		case opFDs:
			held[m.ID] = files
		case opReady:
			return k, held, nil
		default:
			// Exits reported now are also on disk, where load finds them.
			closeFiles(files)
		}
	}
}

func (k *keeperLink) send(m linkMsg, files ...*os.File) {
	if k == nil || k.l == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.l.send(m, files...); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(os.Stderr, "keeper link: send %s: %v\n", m.Op, err)
	}
}

// hold gives the keeper a copy of a container's stdio, so that its pipes
// keep a reader (and its output waits) while no supervisor runs.
func (k *keeperLink) hold(id string, files []*os.File) { k.send(linkMsg{Op: opHold, ID: id}, files...) }

func (k *keeperLink) drop(id string) { k.send(linkMsg{Op: opDrop, ID: id}) }

// run handles the keeper's reports until the link closes.
func (k *keeperLink) run(s *server) {
	if k.l == nil {
		return
	}
	for {
		m, files, err := k.l.recv()
		if err != nil {
			s.log.Warn("keeper link closed", "err", err)
			return
		}
		closeFiles(files)
		if m.Op == opExit {
			s.orphanExited(m.Pid, unix.WaitStatus(m.Status), time.Unix(0, m.Time))
		}
	}
}
