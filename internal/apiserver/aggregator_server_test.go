package apiserver_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/testca"
)

// flunderServer is an aggregated API server for wardle.example.com/v1alpha1
// (upstream's sample-apiserver group): it trusts only the front proxy's
// client certificate named in the extension-apiserver-authentication
// ConfigMap, takes the user from X-Remote-* headers as k8s.io/apiserver's
// request-header authenticator does, and serves discovery and flunders.
type flunderServer struct {
	l     net.Listener
	caPEM []byte

	mu    sync.Mutex
	users []remoteUser
}

type remoteUser struct {
	name          string
	groups        []string
	authorization string
	forged        string
}

func (f *flunderServer) seen() []remoteUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.users)
}

// startFlunderServer serves on loopback with a certificate for
// <service>.<namespace>.svc from a CA of its own; requestHeaderCA and
// allowedNames are what the ConfigMap says.
func startFlunderServer(t *testing.T, serverName string, requestHeaderCA []byte, allowedNames []string) *flunderServer {
	t.Helper()
	caPEM, cert := testca.Serving(t, serverName)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(requestHeaderCA) {
		t.Fatalf("requestheader-client-ca-file holds no certificate")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flunderServer{l: l, caPEM: caPEM}
	srv := &http.Server{
		Handler: f,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
			VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
				if cn := chains[0][0].Subject.CommonName; !slices.Contains(allowedNames, cn) {
					return &net.AddrError{Err: "client certificate " + cn + " is not an allowed front proxy"}
				}
				return nil
			},
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *flunderServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := r.Header.Get("X-Remote-User")
	if user == "" {
		http.Error(w, "no user", http.StatusUnauthorized)
		return
	}
	if user != "system:kube-aggregator" {
		f.mu.Lock()
		f.users = append(f.users, remoteUser{name: user, groups: r.Header.Values("X-Remote-Group"), authorization: r.Header.Get("Authorization"), forged: r.Header.Get("X-Remote-Extra-Forged")})
		f.mu.Unlock()
	}
	if r.Header.Get("Upgrade") == "flunder-echo" {
		f.echo(w)
		return
	}
	if r.URL.Query().Get("watch") == "true" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":"ADDED","object":{"kind":"Flunder","apiVersion":"wardle.example.com/v1alpha1","metadata":{"name":"watched","namespace":"default"}}}` + "\n"))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/apis":
		writeJSON(w, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{{
			Name:             "wardle.example.com",
			Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: "wardle.example.com/v1alpha1", Version: "v1alpha1"}},
			PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "wardle.example.com/v1alpha1", Version: "v1alpha1"},
		}}})
	case "/apis/wardle.example.com/v1alpha1":
		writeJSON(w, &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "wardle.example.com/v1alpha1", APIResources: []metav1.APIResource{
			{Name: "flunders", SingularName: "flunder", Namespaced: true, Kind: "Flunder", Verbs: []string{"get", "list"}, ShortNames: []string{"fl"}},
		}})
	case "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders":
		if strings.Contains(r.Header.Get("Accept"), "as=Table") {
			writeJSON(w, &metav1.Table{
				TypeMeta:          metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"},
				ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name"}, {Name: "Color", Type: "string"}},
				Rows:              []metav1.TableRow{{Cells: []interface{}{"my-flunder", "blue"}, Object: runtime.RawExtension{Raw: []byte(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"my-flunder","namespace":"default"}}`)}}},
			})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"FlunderList","apiVersion":"wardle.example.com/v1alpha1","metadata":{},"items":[{"kind":"Flunder","apiVersion":"wardle.example.com/v1alpha1","metadata":{"name":"my-flunder","namespace":"default"},"spec":{"color":"blue"}}]}`))
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, obj interface{}) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(obj)
}

// echo switches to the flunder-echo protocol and echoes what it reads.
func (f *flunderServer) echo(w http.ResponseWriter) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: flunder-echo\r\n\r\n")
	_ = rw.Flush()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			if _, err := conn.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
