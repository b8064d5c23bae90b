package manager

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/controller/attachdetach"
	"github.com/kemudi/kemudi/internal/controller/bootstrapsigner"
	"github.com/kemudi/kemudi/internal/controller/certificates"
	"github.com/kemudi/kemudi/internal/controller/clusterroleaggregation"
	"github.com/kemudi/kemudi/internal/controller/cronjob"
	"github.com/kemudi/kemudi/internal/controller/daemonset"
	"github.com/kemudi/kemudi/internal/controller/disruption"
	"github.com/kemudi/kemudi/internal/controller/endpoints"
	"github.com/kemudi/kemudi/internal/controller/endpointslice"
	"github.com/kemudi/kemudi/internal/controller/ephemeral"
	"github.com/kemudi/kemudi/internal/controller/job"
	"github.com/kemudi/kemudi/internal/controller/nodeipam"
	"github.com/kemudi/kemudi/internal/controller/nodelifecycle"
	"github.com/kemudi/kemudi/internal/controller/persistentvolume"
	"github.com/kemudi/kemudi/internal/controller/podgc"
	"github.com/kemudi/kemudi/internal/controller/pvcprotection"
	"github.com/kemudi/kemudi/internal/controller/resourcequota"
	"github.com/kemudi/kemudi/internal/controller/serviceaccount"
	"github.com/kemudi/kemudi/internal/controller/statefulset"
	"github.com/kemudi/kemudi/internal/controller/tokencleaner"
	"github.com/kemudi/kemudi/internal/controller/ttlafterfinished"
	"github.com/kemudi/kemudi/internal/controller/validatingadmissionpolicystatus"
	"github.com/kemudi/kemudi/internal/controller/volumeexpand"
)

// ServiceAccounts maps each controller to the service account in
// kube-system it acts as with --use-service-account-credentials, whose
// cluster role system:controller:<account> the bootstrap policy grants.
// A controller not listed (the token controller, which mints the
// credentials) acts as the manager itself, as upstream's.
func ServiceAccounts() map[string]string {
	return map[string]string{
		"deployment":                         "deployment-controller",
		"garbage-collector":                  "generic-garbage-collector",
		"namespace":                          "namespace-controller",
		"replicaset":                         "replicaset-controller",
		"replicationcontroller":              "replication-controller",
		nodelifecycle.Name:                   "node-controller",
		nodelifecycle.EvictionName:           "node-controller",
		nodeipam.Name:                        "node-controller",
		endpoints.Name:                       "endpoint-controller",
		endpointslice.Name:                   "endpointslice-controller",
		endpointslice.MirroringName:          "endpointslicemirroring-controller",
		serviceaccount.Name:                  "service-account-controller",
		serviceaccount.RootCAName:            "root-ca-cert-publisher",
		resourcequota.Name:                   "resourcequota-controller",
		pvcprotection.PVCName:                "pvc-protection-controller",
		pvcprotection.PVName:                 "pv-protection-controller",
		persistentvolume.Name:                "persistent-volume-binder",
		ephemeral.Name:                       "ephemeral-volume-controller",
		volumeexpand.Name:                    "expand-controller",
		attachdetach.Name:                    "attachdetach-controller",
		job.Name:                             "job-controller",
		cronjob.Name:                         "cronjob-controller",
		ttlafterfinished.Name:                "ttl-after-finished-controller",
		podgc.Name:                           "pod-garbage-collector",
		daemonset.Name:                       "daemon-set-controller",
		statefulset.Name:                     "statefulset-controller",
		disruption.Name:                      "disruption-controller",
		clusterroleaggregation.Name:          "clusterrole-aggregation-controller",
		tokencleaner.Name:                    "token-cleaner",
		bootstrapsigner.Name:                 "bootstrap-signer",
		certificates.ApprovingName:           "certificate-controller",
		certificates.SigningName:             "certificate-controller",
		certificates.CleanerName:             "certificate-controller",
		validatingadmissionpolicystatus.Name: "validatingadmissionpolicy-status-controller",
	}
}

// tokenLifetime is how long a controller's token is asked to last; it is
// renewed at 80% of the lifetime the server granted.
const tokenLifetime = time.Hour

// credentials hands each controller a client of its own service account.
type credentials struct {
	root     kubernetes.Interface
	base     *rest.Config
	accounts map[string]string
	// sources by service account: controllers sharing an account share
	// its token.
	mu      sync.Mutex
	sources map[string]*tokenSource
}

func newCredentials(cfg *rest.Config, root kubernetes.Interface) *credentials {
	return &credentials{root: root, base: cfg, accounts: ServiceAccounts(), sources: map[string]*tokenSource{}}
}

// contextFor returns the context controller name is built from: cc with
// the controller's own client and config. It creates the service account
// when missing and gets its first token, so that a controller never
// starts without credentials.
// A nil c gives every controller cc itself.
func (c *credentials) contextFor(ctx context.Context, cc *controller.Context, name string) (*controller.Context, error) {
	if c == nil {
		return cc, nil
	}
	account, ok := c.accounts[name]
	if !ok {
		return cc, nil
	}
	src, err := c.source(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("credentials of %s: %w", name, err)
	}
	// The socket or certificate identifies the manager; the token says
	// which controller. Over TLS the certificate would win, so it goes.
	cfg := rest.AnonymousClientConfig(c.base)
	cfg.Dial = c.base.Dial
	cfg.UserAgent = c.base.UserAgent + "/" + account
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearer{src: src, next: rt} }
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	own := *cc
	own.Client, own.Config = client, cfg
	return &own, nil
}

func (c *credentials) source(ctx context.Context, account string) (*tokenSource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if src, ok := c.sources[account]; ok {
		return src, nil
	}
	sas := c.root.CoreV1().ServiceAccounts(metav1.NamespaceSystem)
	if _, err := sas.Get(ctx, account, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		_, err = sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account, Namespace: metav1.NamespaceSystem}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create service account %s: %w", account, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("get service account %s: %w", account, err)
	}
	src := &tokenSource{client: c.root, account: account}
	if _, err := src.token(ctx); err != nil {
		return nil, err
	}
	c.sources[account] = src
	return src, nil
}

// tokenSource keeps a token of one service account, renewed before it
// expires.
type tokenSource struct {
	client  kubernetes.Interface
	account string

	mu        sync.Mutex
	current   string
	renewAt   time.Time
	expiresAt time.Time
}

func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.current != "" && now.Before(s.renewAt) {
		return s.current, nil
	}
	secs := int64(tokenLifetime / time.Second)
	tr, err := s.client.CoreV1().ServiceAccounts(metav1.NamespaceSystem).CreateToken(ctx, s.account,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		// The old token serves until it expires; renewal is retried on
		// the next request.
		if s.current != "" && now.Before(s.expiresAt) {
			return s.current, nil
		}
		return "", fmt.Errorf("token for service account %s: %w", s.account, err)
	}
	s.current = tr.Status.Token
	s.expiresAt = tr.Status.ExpirationTimestamp.Time
	s.renewAt = now.Add(s.expiresAt.Sub(now) * 4 / 5)
	return s.current, nil
}

// bearer sends a token source's current token with each request.
type bearer struct {
	src  *tokenSource
	next http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := b.src.token(req.Context())
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(req)
}
