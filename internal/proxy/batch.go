package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// batcher sends transactions (txn) on a netfilter socket of its own,
// with one acknowledgement for the whole batch: google/nftables (v0.3.0)
// asks the kernel to acknowledge every message and reads each
// acknowledgement with a syscall of its own, which at 10,000 services
// was hundreds of thousands of acknowledgements, over a third of the
// proxy's CPU.
type batcher struct {
	sock *netlink.Conn
	buf  []byte
	seq  uint32
}

// newBatcher opens the batcher's socket in the network namespace nsFd (0:
// the caller's own).
func newBatcher(nsFd int) (*batcher, error) {
	sock, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFd})
	if err != nil {
		return nil, fmt.Errorf("netfilter socket: %w", err)
	}
	b := &batcher{sock: sock, buf: make([]byte, 1<<20), seq: 1}
	if err := b.setup(); err != nil {
		sock.Close()
		return nil, err
	}
	return b, nil
}

// setup: big buffers for a full rebuild's single sendmsg, and errors that
// do not echo their request (NETLINK_CAP_ACK).
func (b *batcher) setup() error {
	if err := bigBuffers(b.sock); err != nil {
		return err
	}
	rc, err := b.sock.SyscallConn()
	if err != nil {
		return fmt.Errorf("netfilter socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	}); err != nil {
		return fmt.Errorf("netfilter socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("netfilter socket: NETLINK_CAP_ACK: %w", serr)
	}
	return nil
}

func (b *batcher) Close() error { return b.sock.Close() }

// begin starts the next transaction in t.
func (b *batcher) begin(t *txn) { t.reset(b.seq) }

// send sends t's batch, with only its last message acknowledged, and
// reads until that acknowledgement or the error that aborted the batch.
// The kernel handles a batch within sendmsg, so every answer is queued
// when it returns. A transaction without messages is not sent.
func (b *batcher) send(t *txn) error {
	if t.msgs == 0 {
		return nil
	}
	beginSeq, lastSeq := t.finish()
	b.seq = t.seq
	rc, err := b.sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), t.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return !errors.Is(serr, unix.EAGAIN)
	}); err != nil {
		return fmt.Errorf("send nftables batch: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("send nftables batch: %w", serr)
	}
	// Every answer is queued by now: the deadline only guards against a
	// kernel that answers in a way await does not expect.
	_ = b.sock.SetReadDeadline(time.Now().Add(answerTimeout))
	defer func() { _ = b.sock.SetReadDeadline(time.Time{}) }()
	err = b.await(rc, beginSeq, lastSeq)
	var failed *failedMessage
	if errors.As(err, &failed) {
		failed.object = objectName(t.message(failed.seq))
	}
	return err
}

// failedMessage is the kernel's error for one message of a batch.
type failedMessage struct {
	typ    uint16
	seq    uint32
	object string
	err    error
}

func (f *failedMessage) Error() string {
	return fmt.Sprintf("nftables message %s %q (seq %d): %v", msgName(f.typ), f.object, f.seq, f.err)
}

func (f *failedMessage) Unwrap() error { return f.err }

// objectName is the chain or set a message names, for errors.
func objectName(m []byte) string {
	if len(m) < nlmsgHeaderLen {
		return ""
	}
	ad, err := netlink.NewAttributeDecoder(m[nlmsgHeaderLen:])
	if err != nil {
		return ""
	}
	var names []string
	for ad.Next() {
		// NFTA_RULE_CHAIN and NFTA_SET_ELEM_LIST_SET are 2, NFTA_CHAIN_NAME
		// and NFTA_SET_NAME... are 2 or 3: the strings among them.
		if t := ad.Type(); (t == 2 || t == 3) && ad.TypeFlags()&unix.NLA_F_NESTED == 0 {
			if b := ad.Bytes(); len(b) > 1 && b[len(b)-1] == 0 {
				names = append(names, string(b[:len(b)-1]))
			}
		}
	}
	return strings.Join(names, " ")
}

const answerTimeout = 10 * time.Second

// await reads answers until the one for seq lastSeq (or an error for the
// batch as a whole, reported on BATCH_BEGIN's seq beginSeq), returning the
// first error reported.
func (b *batcher) await(rc syscall.RawConn, beginSeq, lastSeq uint32) error {
	var first error
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), b.buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		}); err != nil {
			return fmt.Errorf("read nftables answer: %w", err)
		}
		if rerr != nil {
			return fmt.Errorf("read nftables answer: %w", rerr)
		}
		msgs, err := syscall.ParseNetlinkMessage(b.buf[:n])
		if err != nil {
			return fmt.Errorf("parse nftables answer: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4+unix.NLMSG_HDRLEN {
				continue
			}
			errno := int32(binary.NativeEndian.Uint32(m.Data[:4]))
			orig := m.Data[4:]
			seq := binary.NativeEndian.Uint32(orig[8:12])
			if errno != 0 && first == nil {
				typ := binary.NativeEndian.Uint16(orig[4:6])
				first = &failedMessage{typ: typ, seq: seq, err: syscall.Errno(-errno)}
			}
			if seq == lastSeq || (errno != 0 && seq == beginSeq) {
				return first
			}
		}
	}
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// msgName names an nf_tables message type for errors.
func msgName(typ uint16) string {
	names := map[uint16]string{unix.NFT_MSG_NEWTABLE: "newtable", unix.NFT_MSG_DELTABLE: "deltable",
		unix.NFT_MSG_NEWCHAIN: "newchain", unix.NFT_MSG_DELCHAIN: "delchain", unix.NFT_MSG_NEWRULE: "newrule",
		unix.NFT_MSG_DELRULE: "delrule", unix.NFT_MSG_NEWSET: "newset", unix.NFT_MSG_DELSET: "delset",
		unix.NFT_MSG_NEWSETELEM: "newsetelem", unix.NFT_MSG_DELSETELEM: "delsetelem"}
	if n, ok := names[typ&0xff]; ok {
		return n
	}
	return fmt.Sprint(typ)
}
