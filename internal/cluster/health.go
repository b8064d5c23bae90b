package cluster

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/kemudi/kemudi/internal/apiserver"
)

// The API server's start-up steps as its /healthz, /livez and /readyz
// name them: upstream's kube-apiserver's names for the post-start hooks
// and checks whose work kemudi's server does at the same point of its
// start, so that what watches those names (`kubectl get --raw
// '/readyz?verbose'`, upstream's conformance spec) finds them, failing
// until the step is done.
var (
	// Done once the API is served: the store is open, the admission
	// plugins and their informers made (before serving).
	stepsServing = []string{
		"informer-sync",
		"poststarthook/storage-readiness",
		"poststarthook/start-apiserver-admission-initializer",
		"poststarthook/generic-apiserver-start-informers",
	}
	// Done once the CRD controllers run (the CRD endpoints themselves:
	// the API server's own crd-informer-synced).
	stepsAPIExtensions = []string{
		"poststarthook/start-apiextensions-informers",
		"poststarthook/start-apiextensions-controllers",
	}
	// Done once the aggregator's controllers run: APIService
	// availability, Local APIServices, the OpenAPI of aggregated servers.
	stepsAPIRegistration = []string{
		"poststarthook/start-kube-aggregator-informers",
		"poststarthook/apiservice-registration-controller",
		"poststarthook/apiservice-status-local-available-controller",
		"poststarthook/apiservice-status-remote-available-controller",
		"poststarthook/kube-apiserver-autoregistration",
		"poststarthook/apiservice-openapi-controller",
	}
	// Done once systemObjects exist: the kubernetes service, the system
	// namespaces, the system priority classes, the bootstrap RBAC policy.
	stepsSystemObjects = []string{
		"poststarthook/bootstrap-controller",
		"poststarthook/start-system-namespaces-controller",
		"poststarthook/scheduling/bootstrap-system-priority-classes",
		"poststarthook/rbac/bootstrap-roles",
	}
)

// startup marks the server's start-up steps done.
type startup map[string]func()

// startupSteps adds every step to api's health checks, not done.
func startupSteps(api *apiserver.Server) startup {
	s := startup{}
	for _, group := range [][]string{stepsServing, stepsAPIExtensions, stepsAPIRegistration, stepsSystemObjects} {
		for _, name := range group {
			s[name] = api.StartupStep(name)
		}
	}
	return s
}

func (s startup) done(names ...string) {
	for _, n := range names {
		s[n]()
	}
}

// addStartupChecks adds the steps a client of the API sees done: every
// group version the server serves has its Local APIService
// (autoregister-completion), and kube-system's
// extension-apiserver-authentication ConfigMap is published.
func (s *Server) addStartupChecks(api *apiserver.Server) error {
	const name, user = "health", "system:apiserver"
	groups := []string{"system:masters"}
	cfg, ok, err := s.LocalConfig(name, user, groups)
	if err != nil {
		return fmt.Errorf("health checks: %w", err)
	}
	if !ok {
		if cfg, err = s.ComponentConfig(name, user, groups); err != nil {
			return fmt.Errorf("health checks: %w", err)
		}
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("health checks: %w", err)
	}
	agg, err := aggregatorclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("health checks: %w", err)
	}
	want := make([]string, 0, 32)
	for _, gv := range api.GroupVersions() {
		want = append(want, gv.Version+"."+gv.Group)
	}
	api.StartupCheck("autoregister-completion", func(ctx context.Context) error {
		list, err := agg.ApiregistrationV1().APIServices().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		have := make(map[string]bool, len(list.Items))
		for _, svc := range list.Items {
			have[svc.Name] = true
		}
		var missing []string
		for _, n := range want {
			if !have[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing APIService: %v", missing)
		}
		return nil
	})
	api.StartupCheck("poststarthook/start-cluster-authentication-info-controller", func(ctx context.Context) error {
		_, err := kube.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
		return err
	})
	return nil
}
