package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestHostPortOnLocalhost(t *testing.T) {
	n := newTestNode(t, nil)
	sb, _ := n.sandbox(t, "web", PortMapping{ContainerPort: 80, HostPort: 8080})
	serveTCP(t, sb.NetNS, ":80")
	got, err := whoAmI(t, n.ns, "127.0.0.1:8080")
	if err != nil {
		t.Fatalf("hostPort on the node's localhost: %v", err)
	}
	if got != "10.42.0.1" {
		t.Errorf("pod saw %s, want the gateway 10.42.0.1", got)
	}
}

// The bridge routes loopback addresses (for hostPorts on localhost), which
// must not let a pod reach the node's loopback-only services
// (CVE-2020-8558): a pod crafting a frame to 127.0.0.1 through the gateway
// gets nothing delivered.
func TestPodCannotReachNodeLoopback(t *testing.T) {
	n := newTestNode(t, nil)
	sb, res := n.sandbox(t, "attacker")
	listen := func(addr string) net.PacketConn {
		var pc net.PacketConn
		if err := inNS(t, n.ns, func() (err error) { pc, err = net.ListenPacket("udp4", addr); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		return pc
	}
	loop := listen("127.0.0.1:7777")
	ctrl := listen("10.42.0.1:7778")

	pod := nlAt(t, sb.NetNS)
	eth, err := pod.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	gwMAC := gatewayMAC(res.Gateway)
	frames := [][]byte{
		udpFrame(eth.Attrs().HardwareAddr, gwMAC, res.IPs[0], res.Gateway, 7778, []byte("control 1")),
		udpFrame(eth.Attrs().HardwareAddr, gwMAC, res.IPs[0], net.IPv4(127, 0, 0, 1), 7777, []byte("attack")),
		udpFrame(eth.Attrs().HardwareAddr, gwMAC, res.IPs[0], res.Gateway, 7778, []byte("control 2")),
	}
	// Sent from one CPU, the frames are handled in order: once the second
	// control frame is in, the loopback one has been delivered or dropped.
	sent := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread is discarded, pinned and in the pod's namespace
		sent <- sendFrames(sb.NetNS, eth.Attrs().Index, gwMAC, frames)
	}()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	ctrl.SetReadDeadline(time.Now().Add(3 * time.Second))
	for _, want := range []string{"control 1", "control 2"} {
		k, _, err := ctrl.ReadFrom(buf)
		if err != nil || string(buf[:k]) != want {
			t.Fatalf("control frame: %q, %v (the crafted frames do not work)", buf[:k], err)
		}
	}
	raw, err := loop.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var k int
	var rerr error
	raw.Read(func(fd uintptr) bool {
		k, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return true
	})
	if rerr == nil {
		t.Fatalf("the node's loopback got %q from the pod", buf[:k])
	}
	if !errors.Is(rerr, unix.EAGAIN) {
		t.Fatalf("read the loopback socket: %v", rerr)
	}
}

// sendFrames sends raw frames out of the pod's interface from the calling
// (locked) thread, pinned to one CPU.
func sendFrames(nsPath string, ifindex int, dstMAC net.HardwareAddr, frames [][]byte) error {
	var cpus unix.CPUSet
	cpus.Set(0)
	if err := unix.SchedSetaffinity(0, &cpus); err != nil {
		return err
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifindex, Protocol: htons(unix.ETH_P_IP), Halen: 6}
	copy(to.Addr[:], dstMAC)
	for _, f := range frames {
		if err := unix.Sendto(fd, f, 0, to); err != nil {
			return fmt.Errorf("send frame: %w", err)
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// udpFrame builds an Ethernet frame holding an IPv4 UDP datagram.
func udpFrame(srcMAC, dstMAC net.HardwareAddr, src, dst net.IP, port uint16, payload []byte) []byte {
	udpLen := 8 + len(payload)
	ip := make([]byte, 20+udpLen)
	ip[0], ip[8], ip[9] = 0x45, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:16], src.To4())
	copy(ip[16:20], dst.To4())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], port)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen)) // checksum 0: none
	copy(udp[8:], payload)
	frame := append(append(append([]byte{}, dstMAC...), srcMAC...), 0x08, 0x00)
	return append(frame, ip...)
}
