package announce

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// responder answers ARP requests and neighbor solicitations for the
// addresses owns names, on one interface.
type responder struct {
	ifi  *net.Interface
	arp  *arpConn
	ndp  *ndpConn // nil when IPv6 is off on the interface
	owns func(netip.Addr) bool
	log  *slog.Logger
	wg   sync.WaitGroup
}

// openResponder opens the sockets on ifi in the namespace at netnsPath
// and starts answering. Without IPv6 only ARP is answered.
func openResponder(netnsPath string, ifi *net.Interface, owns func(netip.Addr) bool, log *slog.Logger) (*responder, error) {
	r := &responder{ifi: ifi, owns: owns, log: log}
	var ndpErr error
	// Sockets belong to the namespace of the thread that opens them.
	err := netnsrun.Run(netnsPath, func() error {
		var err error
		if r.arp, err = openARP(ifi); err != nil {
			return err
		}
		r.ndp, ndpErr = openNDP(ifi)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ndpErr != nil {
		log.Warn("IPv6 load-balancer addresses are not announced", "interface", ifi.Name, "err", ndpErr)
	}
	r.wg.Add(1)
	go r.serveARP()
	if r.ndp != nil {
		r.wg.Add(1)
		go r.serveNDP()
	}
	return r, nil
}

func (r *responder) serveARP() {
	defer r.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, err := r.arp.read(buf)
		if err != nil {
			if r.stopped(err) {
				return
			}
			continue
		}
		req, err := parseARP(buf[:n])
		if err != nil {
			continue
		}
		if reply, ok := arpAnswer(req, r.ifi.HardwareAddr, r.owns); ok {
			if err := r.arp.write(reply.frame(req.SenderMAC)); err != nil {
				r.log.Warn("answer ARP request", "address", req.TargetIP, "from", req.SenderIP, "err", err)
			}
		}
	}
}

func (r *responder) serveNDP() {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	for {
		ns, src, err := r.ndp.read(buf)
		if err != nil {
			if r.stopped(err) {
				return
			}
			continue
		}
		if !r.owns(ns.Target) {
			continue
		}
		// A duplicate address probe comes from no address: the answer
		// goes to all nodes, unsolicited (RFC 4861 7.2.4).
		dst, solicited := src, true
		if src.IsUnspecified() {
			dst, solicited = allNodes, false
		}
		if err := r.ndp.send(neighborAdvertisement(ns.Target, r.ifi.HardwareAddr, solicited), dst); err != nil {
			r.log.Warn("answer neighbor solicitation", "address", ns.Target, "from", src, "err", err)
		}
	}
}

// stopped says whether a read error ends the loop (the socket was
// closed); other errors (the link went down) are waited out.
func (r *responder) stopped(err error) bool {
	if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return true
	}
	r.log.Debug("read from announcing socket", "interface", r.ifi.Name, "err", err)
	time.Sleep(100 * time.Millisecond)
	return false
}

// gratuitous tells the LAN the interface now has addr.
func (r *responder) gratuitous(addr netip.Addr) error {
	if addr.Is4() {
		var errs []error
		for _, f := range gratuitousARP(addr, r.ifi.HardwareAddr) {
			errs = append(errs, r.arp.write(f))
		}
		return errors.Join(errs...)
	}
	if r.ndp == nil {
		return errors.New("IPv6 is off on " + r.ifi.Name)
	}
	return r.ndp.send(neighborAdvertisement(addr, r.ifi.HardwareAddr, false), allNodes)
}

// join and leave make the interface take solicitations for an IPv6
// address in and out.
func (r *responder) join(addr netip.Addr) error {
	if addr.Is4() || r.ndp == nil {
		return nil
	}
	return r.ndp.join(addr)
}

func (r *responder) leave(addr netip.Addr) error {
	if addr.Is4() || r.ndp == nil {
		return nil
	}
	return r.ndp.leave(addr)
}

// Close stops answering.
func (r *responder) Close() {
	r.arp.Close()
	if r.ndp != nil {
		r.ndp.Close()
	}
	r.wg.Wait()
}
