package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// flunderAddr is the address the test's EndpointSlice gives the
// aggregated server (TEST-NET-1: EndpointSlices refuse loopback); the
// server's dialer sends it to the test server on loopback.
const flunderAddr = "192.0.2.10:8443"

// startAggregating starts a server whose aggregator reaches flunderAddr
// at whatever *target holds.
func startAggregating(t *testing.T) (*clustertest.Server, *atomic.Pointer[string]) {
	target := &atomic.Pointer[string]{}
	s := clustertest.Start(t, func(o *cluster.ServerOptions) {
		o.AggregatorDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			to := target.Load()
			if addr != flunderAddr || to == nil {
				return nil, fmt.Errorf("dial %s: test dialer reaches only %s", addr, flunderAddr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, *to)
		}
	})
	return s, target
}

// frontProxyTrust reads what aggregated servers trust from the
// extension-apiserver-authentication ConfigMap, as k8s.io/apiserver does.
func frontProxyTrust(t *testing.T, s *clustertest.Server) (ca []byte, allowed []string) {
	t.Helper()
	var data map[string]string
	eventually(t, "extension-apiserver-authentication ConfigMap", 20*time.Second, func() error {
		cm, err := s.Client.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "extension-apiserver-authentication", metav1.GetOptions{})
		if err != nil {
			return err
		}
		data = cm.Data
		return nil
	})
	want := map[string]string{
		"requestheader-username-headers":     `["X-Remote-User"]`,
		"requestheader-group-headers":        `["X-Remote-Group"]`,
		"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
		"requestheader-allowed-names":        `["front-proxy-client"]`,
	}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("ConfigMap %s = %q, want %q", k, data[k], v)
		}
	}
	if !strings.Contains(data["client-ca-file"], "BEGIN CERTIFICATE") {
		t.Errorf("ConfigMap client-ca-file = %q", data["client-ca-file"])
	}
	if err := json.Unmarshal([]byte(data["requestheader-allowed-names"]), &allowed); err != nil {
		t.Fatal(err)
	}
	return []byte(data["requestheader-client-ca-file"]), allowed
}

func flunderService(t *testing.T, s *clustertest.Server) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "wardle"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Services("wardle").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createFlunderSlice(t, s)
}

func createFlunderSlice(t *testing.T, s *clustertest.Server) {
	t.Helper()
	host, portStr, _ := net.SplitHostPort(flunderAddr)
	var port int32
	fmt.Sscan(portStr, &port)
	ready, proto, name := true, corev1.ProtocolTCP, ""
	if _, err := s.Client.DiscoveryV1().EndpointSlices("wardle").Create(context.Background(), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "api-1", Labels: map[string]string{discoveryv1.LabelServiceName: "api"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func flunderAPIService(caPEM []byte) string {
	b, _ := json.Marshal(caPEM)
	return `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1alpha1.wardle.example.com
spec:
  group: wardle.example.com
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {namespace: wardle, name: api}
  caBundle: ` + base64JSON(b) + "\n"
}

// base64JSON turns the JSON encoding of a []byte (a base64 string in
// quotes) into the bare base64 string YAML wants.
func base64JSON(b []byte) string { return strings.Trim(string(b), `"`) }

// availability is the APIService's Available condition as status/reason.
func availability(s *clustertest.Server, name string) string {
	out, err := s.Kubectl("get", "apiservice", name, "-o", `jsonpath={range .status.conditions[?(@.type=="Available")]}{.status}/{.reason}{end}`)
	if err != nil {
		return err.Error()
	}
	return out
}

func waitAvailability(t *testing.T, s *clustertest.Server, name, want string) {
	t.Helper()
	eventually(t, "APIService "+name+" "+want, 30*time.Second, func() error {
		if got := availability(s, name); got != want {
			return fmt.Errorf("availability %q", got)
		}
		return nil
	})
}

// TestAggregatedAPI: an APIService whose service's endpoint is a test
// server is proxied to it with the front proxy's certificate and the
// user's identity, listed in discovery and by kubectl, and its failures
// are reported in its status and answered 503 for its group only.
func TestAggregatedAPI(t *testing.T) {
	s, target := startAggregating(t)
	ca, allowed := frontProxyTrust(t, s)
	f := startFlunderServer(t, "api.wardle.svc", ca, allowed)
	addr := f.l.Addr().String()
	target.Store(&addr)
	flunderService(t, s)
	mustKubectlStdin(t, s, flunderAPIService(f.caPEM), "apply", "-f", "-")
	const name = "v1alpha1.wardle.example.com"
	waitAvailability(t, s, name, "True/Passed")

	t.Run("proxied with the user's identity", func(t *testing.T) {
		out := s.MustKubectl("get", "--raw", "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders")
		if !strings.Contains(out, `"name":"my-flunder"`) {
			t.Fatalf("get --raw: %s", out)
		}
		users := f.seen()
		last := users[len(users)-1]
		if last.name != "system:admin" || !slices.Contains(last.groups, "system:masters") || last.authorization != "" {
			t.Errorf("the aggregated server saw %+v, want system:admin in system:masters without the client's credentials", last)
		}
	})

	t.Run("forged identity headers are dropped", func(t *testing.T) {
		res := s.Client.CoreV1().RESTClient().Get().AbsPath("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders").
			SetHeader("X-Remote-User", "mallory").SetHeader("X-Remote-Extra-Forged", "yes").Do(context.Background())
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
		users := f.seen()
		if last := users[len(users)-1]; last.name != "system:admin" || last.forged != "" {
			t.Errorf("the aggregated server saw %+v", last)
		}
	})

	t.Run("authorized by the API server first", func(t *testing.T) {
		before := len(f.seen())
		_, err := s.KubectlAs(s.UserIdentity("alice"), "get", "--raw", "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders")
		if err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("alice: err %v, want forbidden", err)
		}
		if n := len(f.seen()); n != before {
			t.Errorf("a forbidden request reached the aggregated server")
		}
	})

	t.Run("watch streams pass through", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		body, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders").
			Param("watch", "true").Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		line, err := bufio.NewReader(body).ReadString('\n')
		if err != nil || !strings.Contains(line, `"name":"watched"`) {
			t.Fatalf("first watch event %q, %v (it must arrive while the stream stays open)", line, err)
		}
	})

	t.Run("upgrades pass through", func(t *testing.T) {
		cfg := rest.CopyConfig(s.Config)
		cfg.NextProtos = []string{"http/1.1"} // an upgrade needs HTTP/1.1
		rt, err := rest.TransportFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/apis/wardle.example.com/v1alpha1/namespaces/default/flunders/my-flunder/echo", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "flunder-echo")
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("upgrade: %s %s", resp.Status, b)
		}
		conn := resp.Body.(io.ReadWriter)
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 4)
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != "ping" {
			t.Fatalf("echo %q, %v", got, err)
		}
	})

	t.Run("CRD group versions get Local APIServices", func(t *testing.T) {
		applyFile(t, s, "testdata/crontab-crd.yaml")
		waitAvailability(t, s, "v1.stable.example.com", "True/Local")
		if got := s.MustKubectl("get", "apiservice", "v1.stable.example.com", "-o", `jsonpath={.metadata.labels.kube-aggregator\.kubernetes\.io/automanaged} {.spec.groupPriorityMinimum}`); got != "true 1000" {
			t.Errorf("CRD APIService label and priority %q", got)
		}
		s.MustKubectl("delete", "crd", "crontabs.stable.example.com")
		eventually(t, "the CRD's APIService goes with it", 30*time.Second, func() error {
			if out, err := s.Kubectl("get", "apiservice", "v1.stable.example.com"); err == nil {
				return fmt.Errorf("still there: %s", out)
			}
			return nil
		})
	})

	t.Run("kubectl api-resources and get", func(t *testing.T) {
		eventually(t, "flunders in api-resources", 45*time.Second, func() error {
			out, err := s.Kubectl("api-resources", "--api-group=wardle.example.com")
			if err != nil || !strings.Contains(out, "flunders") {
				return fmt.Errorf("api-resources: %q %v", out, err)
			}
			return nil
		})
		out := s.MustKubectl("get", "flunders", "-n", "default")
		if h := header(out); h != "NAME COLOR" {
			t.Errorf("get flunders header %q in\n%s", h, out)
		}
		if r := rows(out)["my-flunder"]; len(r) < 2 || r[1] != "blue" {
			t.Errorf("get flunders:\n%s", out)
		}
		groups := s.MustKubectl("get", "--raw", "/apis/wardle.example.com")
		if !strings.Contains(groups, `"preferredVersion":{"groupVersion":"wardle.example.com/v1alpha1"`) {
			t.Errorf("/apis/wardle.example.com: %s", groups)
		}
	})

	t.Run("kubectl get apiservices", func(t *testing.T) {
		out := s.MustKubectl("get", "apiservices")
		if h := header(out); h != "NAME SERVICE AVAILABLE AGE" {
			t.Errorf("header %q", h)
		}
		rs := rows(out)
		for name, want := range map[string][]string{
			"v1.":                         {"Local", "True"},
			"v1.apps":                     {"Local", "True"},
			"v1.apiregistration.k8s.io":   {"Local", "True"},
			"v1alpha1.wardle.example.com": {"wardle/api", "True"},
		} {
			if got := rs[name]; len(got) < 3 || got[1] != want[0] || got[2] != want[1] {
				t.Errorf("row %s = %v, want %v in\n%s", name, got, want, out)
			}
		}
	})

	t.Run("no endpoints: 503 for the group only", func(t *testing.T) {
		if err := s.Client.DiscoveryV1().EndpointSlices("wardle").Delete(context.Background(), "api-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitAvailability(t, s, name, "False/MissingEndpoints")
		_, err := s.Kubectl("get", "--raw", "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders")
		if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") && !strings.Contains(err.Error(), "service unavailable") {
			t.Errorf("get --raw without endpoints: %v", err)
		}
		if out, err := s.Kubectl("get", "namespaces"); err != nil || !strings.Contains(out, "wardle") {
			t.Errorf("the rest of the API: %q %v", out, err)
		}
		out := s.MustKubectl("get", "apiservice", name)
		if r := rows(out)[name]; len(r) < 3 || r[2] != "False" || !strings.Contains(out, "(MissingEndpoints)") {
			t.Errorf("get apiservice:\n%s", out)
		}
		createFlunderSlice(t, s)
		waitAvailability(t, s, name, "True/Passed")
	})

	t.Run("server down: FailedDiscoveryCheck", func(t *testing.T) {
		f.l.Close()
		waitAvailability(t, s, name, "False/FailedDiscoveryCheck")
		// Discovery goes on without the group's resources.
		out, err := s.Kubectl("api-resources")
		if !strings.Contains(out, "deployments") {
			t.Errorf("api-resources without the aggregated server: %q %v", out, err)
		}
	})

	t.Run("service not found", func(t *testing.T) {
		mustKubectlStdin(t, s, strings.ReplaceAll(strings.ReplaceAll(flunderAPIService(f.caPEM), "v1alpha1", "v1beta1"), "name: api}", "name: nothere}"), "apply", "-f", "-")
		waitAvailability(t, s, "v1beta1.wardle.example.com", "False/ServiceNotFound")
	})
}

func mustKubectlStdin(t *testing.T, s *clustertest.Server, stdin string, args ...string) string {
	t.Helper()
	out, err := s.KubectlStdin(strings.NewReader(stdin), args...)
	if err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return out
}
