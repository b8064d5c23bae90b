package proxybench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/proxy"
)

// kemudiMetrics is where kemudi's proxy serves /metrics, inside its
// namespace.
const kemudiMetrics = "127.0.0.1:10256"

// runKemudi measures `kemudi proxy`, alone in its process, and stops it.
func runKemudi(b *testing.B, s *clustertest.Server, client kubernetes.Interface, n, changes int) *result {
	r := &result{name: "kemudi"}
	ns := newNetns(b)
	nsPath := "/var/run/netns/" + ns
	cmd := exec.Command(clustertest.Binary(b), "proxy", "--kubeconfig", filepath.Join(s.DataDir, "admin.kubeconfig"),
		"--node-name", "bench", "--netns", nsPath, "--healthz-bind-address", kemudiMetrics, "--cluster-cidr", "10.42.0.0/16")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	launched := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	b.Cleanup(stop)
	fullSync := make(chan fullSyncLog, 1)
	exited := make(chan string, 1)
	go watchLog(stderr, fullSync, exited)
	var full fullSyncLog
	select {
	case full = <-fullSync:
	case last := <-exited:
		b.Fatalf("the proxy exited: %s", last)
	case <-time.After(10 * time.Minute):
		b.Fatal("no full sync within 10 minutes")
	}
	r.fullSync, r.fullSyncCPU = full.took, full.cpu
	r.firstRules = time.Since(launched)
	r.cpuSync = cpuTime(b, cmd.Process.Pid)

	conn := nftConn(b, ns)
	r.chains = countChains(b, conn)
	run := &proxyRun{
		pid: cmd.Process.Pid, nsPath: nsPath, conn: conn, metrics: kemudiMetrics, addrOctet: 44, reportSlow: true,
		table:   &nftables.Table{Name: proxy.TableName, Family: nftables.TableFamilyIPv4},
		chainOf: func(svc string) string { return proxy.ClusterChain("default", svc, "tcp", "http") },
	}
	if note := measureChanges(b, client, run, r, n, changes, 0); note != "" {
		b.Fatal(note)
	}
	stop()
	return r
}

// fullSyncLog is what the proxy logs of a full sync: its wall time and
// the process's CPU time in it.
type fullSyncLog struct{ took, cpu time.Duration }

// watchLog passes on the first full sync's figures from the proxy's log.
func watchLog(r io.Reader, full chan<- fullSyncLog, exited chan<- string) {
	var last string
	defer func() { exited <- last }()
	re := regexp.MustCompile(`msg="full sync" .*took=(\S+) cpu=(\S+)`)
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		last = sc.Text()
		if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
			took, err1 := time.ParseDuration(m[1])
			cpu, err2 := time.ParseDuration(m[2])
			if err1 == nil && err2 == nil {
				full <- fullSyncLog{took, cpu}
				sent = true
			}
		} else if strings.Contains(sc.Text(), "level=ERROR") || strings.Contains(sc.Text(), "level=WARN") || strings.Contains(sc.Text(), `msg="full sync"`) ||
			strings.Contains(sc.Text(), "slow to program") {
			fmt.Fprintln(os.Stderr, sc.Text())
		}
	}
}
