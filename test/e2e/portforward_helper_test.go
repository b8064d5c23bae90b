package e2e

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
)

// forwardPort80 forwards a free port of the test's loopback to the pod's
// port 80 through dialer (SPDY, or SPDY over WebSocket), waits until it
// listens, and returns its address and the function that ends the
// forward (the caller's to call: the leak test drops hundreds).
func forwardPort80(t *testing.T, dialer httpstream.Dialer) (addr string, stop func()) {
	t.Helper()
	stopCh, ready := make(chan struct{}), make(chan struct{})
	var errOut bytes.Buffer
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:80"}, stopCh, ready, io.Discard, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	stop = func() {
		close(stopCh)
		<-done
	}
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward: %v: %s", err, errOut.String())
	case <-time.After(time.Minute):
		stop()
		t.Fatal("port-forward not ready within a minute")
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		stop()
		t.Fatalf("port-forward ports %v, %v", ports, err)
	}
	return "127.0.0.1:" + strconv.Itoa(int(ports[0].Local)), stop
}
