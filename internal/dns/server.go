package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

const (
	tcpIdleTimeout = 10 * time.Second
	// maxTCPConns bounds open TCP connections; beyond it new ones are
	// closed at once.
	maxTCPConns = 1024
)

// listener serves one address over UDP and TCP until ctx ends.
type listener struct {
	h   *handler
	log *slog.Logger
	udp *net.UDPConn
	tcp *net.TCPListener
	// forwards bounds the goroutines waiting on upstream for UDP queries.
	forwards chan struct{}
}

// listen binds addr over UDP and TCP.
func listen(addr string, h *handler, log *slog.Logger, maxForwards int) (*listener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	u, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	// TCP on the port UDP got (matters for port 0 in tests).
	ta := &net.TCPAddr{IP: ua.IP, Port: u.LocalAddr().(*net.UDPAddr).Port, Zone: ua.Zone}
	t, err := net.ListenTCP("tcp", ta)
	if err != nil {
		u.Close()
		return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	return &listener{h: h, log: log, udp: u, tcp: t, forwards: make(chan struct{}, max(1, maxForwards))}, nil
}

// Addr is the bound address (UDP and TCP share it).
func (l *listener) Addr() string { return l.udp.LocalAddr().String() }

// serve runs the readers until ctx ends, then closes the sockets.
func (l *listener) serve(ctx context.Context) error {
	var wg sync.WaitGroup
	readers := max(2, runtime.GOMAXPROCS(0))
	for range readers {
		wg.Go(func() { l.readUDP(ctx) })
	}
	wg.Go(func() { l.acceptTCP(ctx) })
	<-ctx.Done()
	l.udp.Close()
	l.tcp.Close()
	wg.Wait()
	return nil
}

func (l *listener) readUDP(ctx context.Context) {
	buf := make([]byte, maxQuerySize+1)
	// Cached answers are copied here, and sent before the next read.
	out := make([]byte, 0, maxUDPSize)
	for {
		n, from, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("read udp", "err", err)
			continue
		}
		resp, later := l.h.handle(ctx, buf[:n], udp, out)
		if later != nil {
			l.forwardUDP(later, from)
			continue
		}
		l.writeUDP(resp, from)
	}
}

// forwardUDP runs an upstream answer off the reader; when too many are
// waiting already the query is dropped (the client retries).
func (l *listener) forwardUDP(later func() []byte, to netip.AddrPort) {
	select {
	case l.forwards <- struct{}{}:
	default:
		l.h.metrics.dropped.Inc()
		return
	}
	go func() {
		defer func() { <-l.forwards }()
		l.writeUDP(later(), to)
	}()
}

func (l *listener) writeUDP(resp []byte, to netip.AddrPort) {
	if resp == nil {
		return
	}
	if _, err := l.udp.WriteToUDPAddrPort(resp, to); err != nil && !errors.Is(err, net.ErrClosed) {
		l.log.Debug("write udp", "to", to, "err", err)
	}
}

func (l *listener) acceptTCP(ctx context.Context) {
	slots := make(chan struct{}, maxTCPConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.tcp.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("accept tcp", "err", err)
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			l.serveTCP(ctx, c)
		})
	}
}

// serveTCP answers length-prefixed queries on one connection in order
// until it idles, errs or ctx ends.
func (l *listener) serveTCP(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var lenBuf [2]byte
	buf := make([]byte, maxQuerySize)
	for {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdleTimeout))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if n > len(buf) {
			return // not a query we serve; the stream is lost anyway
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		resp, later := l.h.handle(ctx, buf[:n], tcp, nil)
		if later != nil {
			resp = later()
		}
		if resp == nil {
			continue
		}
		out := make([]byte, 2+len(resp))
		binary.BigEndian.PutUint16(out, uint16(len(resp)))
		copy(out[2:], resp)
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdleTimeout))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
