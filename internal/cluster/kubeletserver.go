package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/kubelet"
	kubeletmetrics "github.com/kemudi/kemudi/internal/kubelet/metrics"
	"github.com/kemudi/kemudi/internal/kubelet/node"
	"github.com/kemudi/kemudi/internal/kubelet/probe"
	kubeletserver "github.com/kemudi/kemudi/internal/kubelet/server"
)

// KubeletClientUser is who the API server is to kubelets when it proxies
// logs, exec, attach, port-forward and nodes/proxy (kubeadm's name; in
// system:masters so that every kubelet's SubjectAccessReview allows it).
const KubeletClientUser = "kube-apiserver-kubelet-client"

// KubeletServingCert signs a node's kubelet serving certificate for its
// name and addresses with the cluster CA (the node of kemudi server,
// which holds the CA; other nodes get theirs through a CSR).
func (p *PKI) KubeletServingCert(nodeName string, ips []net.IP) (tls.Certificate, error) {
	name := kubeletServingName(nodeName)
	certPath, keyPath := filepath.Join(p.Dir, name+".crt"), filepath.Join(p.Dir, name+".key")
	if cert, key, ok := p.reuse(certPath, keyPath, kubeletServingHosts(nodeName, ips)); ok {
		return tlsPair(cert, key), nil
	}
	return p.issueKubeletServing(nodeName, ips)
}

func kubeletServingName(nodeName string) string { return "kubelet-serving-" + nodeName }

func kubeletServingHosts(nodeName string, ips []net.IP) []string {
	hosts := []string{nodeName}
	for _, ip := range ips {
		hosts = append(hosts, ip.String())
	}
	return hosts
}

// issueKubeletServing signs a new kubelet serving certificate.
func (p *PKI) issueKubeletServing(nodeName string, ips []net.IP) (tls.Certificate, error) {
	name := kubeletServingName(nodeName)
	certPath, keyPath := filepath.Join(p.Dir, name+".crt"), filepath.Join(p.Dir, name+".key")
	return p.issue(certPath, keyPath, &x509.Certificate{
		// Upstream's kubelet-serving certificates name the node so.
		Subject:     pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{nodeName},
		IPAddresses: ips,
	})
}

// RunKubelet runs a kubelet with its API server against the runtime at
// o.RuntimeEndpoint (`kemudi kubelet`).
func RunKubelet(ctx context.Context, cfg *rest.Config, o kubelet.Options) error {
	return runKubelet(ctx, cfg, AgentOptions{Kubelet: o}, nil)
}

// runKubelet runs the kubelet and, beside it, its API server on
// Kubelet.Port (0: none). rt is the runtime the kubelet uses; nil dials
// Kubelet.RuntimeEndpoint.
func runKubelet(ctx context.Context, cfg *rest.Config, o AgentOptions, rt kubelet.Runtime) error {
	if rt != nil {
		o.Kubelet.Runtime = rt
	}
	if o.Kubelet.Port == 0 {
		return kubelet.Run(ctx, cfg, o.Kubelet)
	}
	if o.Kubelet.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name: %w", err)
		}
		o.Kubelet.NodeName = h
	}
	if len(o.Kubelet.NodeIPs) == 0 {
		ip, err := node.DefaultIP()
		if err != nil {
			return err
		}
		o.Kubelet.NodeIPs = []net.IP{ip}
	}
	if rt == nil {
		dialed, closeRT, err := kubelet.Dial(o.Kubelet.RuntimeEndpoint)
		if err != nil {
			return err
		}
		defer closeRT()
		rt = dialed
	}
	if o.Kubelet.ProbeMetrics == nil {
		o.Kubelet.ProbeMetrics = probe.NewMetrics()
	}
	if o.Kubelet.Metrics == nil {
		o.Kubelet.Metrics = kubeletmetrics.New(o.Kubelet.NodeName)
	}
	srv, l, certs, err := newKubeletServer(cfg, o, rt)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if certs != nil {
		go certs(ctx)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	err = kubelet.Run(ctx, cfg, o.Kubelet)
	cancel()
	if serr := <-served; serr != nil && err == nil {
		err = serr
	}
	return err
}

// newKubeletServer builds the kubelet's server and its listener; certs,
// when not nil, is to run beside it (it obtains the serving certificate).
func newKubeletServer(cfg *rest.Config, o AgentOptions, rt kubelet.Runtime) (_ *kubeletserver.Server, _ net.Listener, certs func(context.Context), _ error) {
	k := o.Kubelet
	cas, err := clusterCAs(cfg, o.ClusterCA)
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubelet server API client: %w", err)
	}
	getCert, certs, err := kubeletServingCert(o, client)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubelet serving certificate: %w", err)
	}
	instrumented := kubelet.Instrument(rt, k.Metrics)
	srv, err := kubeletserver.New(kubeletserver.Config{
		NodeName: k.NodeName, Runtime: instrumented, Images: instrumented, Client: client, ClientCAs: cas,
		GetCertificate: getCert, RootDir: k.RootDir, PodLogDir: k.PodLogDir, Log: k.Log,
		ProbeMetrics: k.ProbeMetrics.Gatherer(), Metrics: k.Metrics, VolumeStatsAggPeriod: k.VolumeStatsAggPeriod,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(int(k.Port))))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubelet server: listen: %w", err)
	}
	return srv, l, certs, nil
}

// kubeletServingCert is signed by the cluster CA when this process holds
// it; other nodes ask for one with a CSR (signer kubelet-serving) and
// serve a self-signed one until it is approved and issued.
func kubeletServingCert(o AgentOptions, client kubernetes.Interface) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), func(context.Context), error) {
	k := o.Kubelet
	if o.KubeletCADir != "" {
		if _, err := os.Stat(filepath.Join(o.KubeletCADir, "ca.key")); err == nil {
			pki, err := LoadOrCreatePKI(o.KubeletCADir)
			if err != nil {
				return nil, nil, err
			}
			cert, err := pki.NewRotatingKubeletServingCert(k.NodeName, k.NodeIPs)
			if err != nil {
				return nil, nil, err
			}
			return cert.GetCertificate, nil, nil
		}
	}
	log := k.Log
	if log == nil {
		log = slog.Default()
	}
	certs, err := kubeletserver.NewCSRCertificates(client, filepath.Join(k.RootDir, "pki"), k.NodeName, k.NodeIPs, log)
	if err != nil {
		return nil, nil, err
	}
	return certs.GetCertificate, certs.Run, nil
}

// clusterCAs are the CAs whose client certificates the kubelet accepts:
// ca, or else the cluster CA its own API client trusts.
func clusterCAs(cfg *rest.Config, ca []byte) (*x509.CertPool, error) {
	data := ca
	if len(data) == 0 {
		data = cfg.TLSClientConfig.CAData
	}
	if len(data) == 0 && cfg.TLSClientConfig.CAFile != "" {
		var err error
		if data, err = os.ReadFile(cfg.TLSClientConfig.CAFile); err != nil {
			return nil, fmt.Errorf("cluster CA: %w", err)
		}
	}
	pool := x509.NewCertPool()
	if len(data) == 0 || !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("kubelet server: the API client config has no CA to verify client certificates with")
	}
	return pool, nil
}

// KubeletClientConfig is how the API server reaches kubelets: with its
// kubelet-client certificate, verifying theirs against the cluster CA.
func (p *PKI) KubeletClientConfig() (apiserver.KubeletClientConfig, error) {
	cert, err := p.NewRotatingClientCert("kubelet-client", KubeletClientUser, []string{"system:masters"})
	if err != nil {
		return apiserver.KubeletClientConfig{}, fmt.Errorf("kubelet client certificate: %w", err)
	}
	return apiserver.KubeletClientConfig{TLS: &tls.Config{
		GetClientCertificate: cert.GetClientCertificate,
		RootCAs:              p.CAPool,
		MinVersion:           tls.VersionTLS12,
	}}, nil
}
