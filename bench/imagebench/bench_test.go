package imagebench

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/sirupsen/logrus"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/addons/registry"
	"github.com/kemudi/kemudi/internal/cri/image"
)

const (
	user     = "bench"
	password = "bench-password"
	layers   = 4
)

func BenchmarkImagePushPull(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: unpacking layers")
	}
	// distribution logs every request through logrus: not what is measured.
	logrus.SetOutput(io.Discard)
	mib := 200
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_IMAGE_MIB": &mib}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := b.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	ca, caKey := newCA(b, caFile)
	seed := startRegistry(ctx, b, filepath.Join(dir, "seed"), ca, caKey)
	target := startRegistry(ctx, b, filepath.Join(dir, "target"), ca, caKey)
	rc := filepath.Join(dir, "registries.yaml")
	yaml := fmt.Sprintf("configs:\n  %q:\n    tls: {ca_file: %s}\n  %q:\n    tls: {ca_file: %s}\n", seed, caFile, target, caFile)
	if err := os.WriteFile(rc, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	img := makeImage(b, filepath.Join(dir, "layers"), mib)
	size := compressedSize(b, img)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	seedRef, _ := name.NewTag(seed + "/bench/big:1")
	if err := remote.Write(seedRef, img, remote.WithContext(ctx),
		remote.WithAuth(&authn.Basic{Username: user, Password: password}),
		remote.WithTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})); err != nil {
		b.Fatalf("seed: %v", err)
	}
	auth := &image.Auth{Username: user, Password: password}
	open := func(name string) *image.Store {
		s, err := image.Open(image.Options{Root: filepath.Join(dir, name), RegistryConfig: rc, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.GC() })
		return s
	}
	src := open("store-src")
	if _, err := src.Pull(ctx, seedRef.String(), auth); err != nil {
		b.Fatalf("seed pull: %v", err)
	}
	ref := target + "/bench/big:1"
	if _, err := src.Tag(seedRef.String(), ref); err != nil {
		b.Fatal(err)
	}
	loadBefore := harness.LoadAvg()
	var rows []row
	timed := func(what string, fn func() error) {
		stop := startProfile(b, what)
		start, cpu := time.Now(), harness.SelfCPUTime()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		rows = append(rows, row{what, time.Since(start), harness.SelfCPUTime() - cpu})
		stop()
	}
	timed("push (every blob sent)", func() error { _, err := src.Push(ctx, ref, auth, nil); return err })
	timed("push again (nothing sent)", func() error { _, err := src.Push(ctx, ref, auth, nil); return err })
	dst := open("store-dst")
	timed("pull into an empty store", func() error { _, err := dst.Pull(ctx, ref, auth); return err })
	loadAfter := harness.LoadAvg()

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "image: %d layers, %.1f MiB compressed\t\t\t\t\n", layers, float64(size)/(1<<20))
	fmt.Fprintln(w, "operation\twall\tMiB/s\tCPU (store + registry)\tMiB per CPU-s\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%.0f\t%s\t%.0f\t\n", r.what, r.d.Round(time.Millisecond), float64(size)/(1<<20)/r.d.Seconds(),
			r.cpu.Round(time.Millisecond), float64(size)/(1<<20)/r.cpu.Seconds())
	}
	w.Flush()
	fmt.Printf("loadavg before: %s\nloadavg after:  %s\n", loadBefore, loadAfter)
	b.ReportMetric(float64(size)/(1<<20)/rows[0].d.Seconds(), "push-MiB/s")
	b.ReportMetric(float64(size)/(1<<20)/rows[2].d.Seconds(), "pull-MiB/s")
}

// row is one timed operation: wall time, and the CPU time of this
// process (the store and the registry both), which says what the
// operation costs whatever else the machine runs.
type row struct {
	what   string
	d, cpu time.Duration
}

// makeImage writes layers of random data (incompressible, as most of a
// real image's bytes are once gzipped) and builds an image of them.
func makeImage(b *testing.B, dir string, mib int) v1.Image {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	img := empty.Image
	per := int64(mib) << 20 / layers
	for i := range layers {
		file := filepath.Join(dir, fmt.Sprintf("layer%d.tar", i))
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		tw := tar.NewWriter(f)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data%d", i), Mode: 0o644, Size: per, Typeflag: tar.TypeReg}); err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyN(tw, rand.Reader, per); err != nil {
			b.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		l, err := tarball.LayerFromFile(file, tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			b.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			b.Fatal(err)
		}
	}
	return img
}

func compressedSize(b *testing.B, img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// startRegistry serves kemudi's registry over TLS on 127.0.0.1 with a
// certificate from ca and the user bench; it returns its host.
func startRegistry(ctx context.Context, b *testing.B, dataDir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) string {
	layout := registry.NewLayout(dataDir)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	reg, err := registry.New(ctx, registry.Options{Layout: layout, Certificate: serveCert(b, ca, caKey), ClientCAs: pool, GCInterval: -1,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := registry.AddUser(layout.Users, user, password); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- reg.Serve(ctx, l) }()
	b.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})
	return l.Addr().String()
}

func newCA(b *testing.B, file string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imagebench-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		b.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func serveCert(b *testing.B, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "registry"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
