// Package apiregistration runs the controllers of upstream's
// kube-aggregator in the API server's process, as clients of its API:
// availability (each APIService's Available condition, with upstream's
// reasons), registration (a Local APIService for every built-in group
// version and every served version of a CRD) and the
// extension-apiserver-authentication ConfigMap aggregated servers read.
package apiregistration

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"

	"github.com/kemudi/kemudi/internal/registry/apiregistration/apiservice"
)

// Options configure the controllers.
type Options struct {
	// ProxyClientCert gives the front proxy's client certificate at each
	// handshake, presented for the discovery check as the API server's
	// proxy presents it.
	ProxyClientCert apiservice.ClientCertificate
	// Dial connects to an aggregated server's endpoint; nil dials
	// directly (tests map addresses, as for the API server's proxy).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// BuiltIn are the group versions the API server serves itself: each
	// gets a Local APIService.
	BuiltIn []schema.GroupVersion
	// Authentication is the data of kube-system's
	// extension-apiserver-authentication ConfigMap (AuthenticationData).
	Authentication map[string]string
	Log            *slog.Logger
}

// Run runs the controllers against the API server at cfg until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	agg, err := aggregatorclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiregistration client: %w", err)
	}
	ext, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	kubeInformers := informers.NewSharedInformerFactory(kube, 0)
	aggInformers := aggregatorinformers.NewSharedInformerFactory(agg, 0)
	extInformers := apiextensionsinformers.NewSharedInformerFactory(ext, 0)

	avail, err := newAvailability(agg, aggInformers, kubeInformers, opts)
	if err != nil {
		return err
	}
	reg, err := newRegistration(agg, aggInformers, extInformers, opts)
	if err != nil {
		return err
	}
	kubeInformers.Start(ctx.Done())
	aggInformers.Start(ctx.Done())
	extInformers.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), avail.synced...) || !cache.WaitForCacheSync(ctx.Done(), reg.synced...) {
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		publishAuthentication(ctx, kube, opts.Authentication, opts.Log)
	}()
	go reg.loop.Run(ctx, 1)
	avail.loop.Run(ctx, 2)
	<-done
	return nil
}
