package webhook

import (
	"sort"
	"strconv"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"

	"github.com/kemudi/kemudi/internal/registry/admissionregistration/webhookconfig"
	"github.com/kemudi/kemudi/internal/webhookclient"
)

// hook is one webhook, compiled: what requests read.
type hook struct {
	config   string
	spec     admissionv1.ValidatingWebhook // defaulted; a mutating one's shared fields
	mutating bool
	// reinvoke is a mutating webhook's reinvocationPolicy IfNeeded.
	reinvoke bool
	nsSel    labels.Selector
	objSel   labels.Selector
	// selErr is why a selector does not parse (the write is refused or
	// the webhook skipped, as failurePolicy says).
	selErr error
	// matcher evaluates matchConditions; nil when there are none.
	matcher   matchconditions.Matcher
	client    *webhookclient.Client
	clientErr error
	// url is where calls go: the client's, with the webhook's timeout.
	url string
}

func (h *hook) name() string { return h.spec.Name }

func (h *hook) failOpen() bool {
	return h.spec.FailurePolicy != nil && *h.spec.FailurePolicy == admissionv1.Ignore
}

// snapshot is every webhook, in upstream's order: configurations by name,
// webhooks in the order each lists them.
type snapshot struct {
	mutating, validating []*hook
}

type mutatingConfig struct {
	name  string
	hooks []*hook
}

type validatingConfig = mutatingConfig

// SetMutating adds or replaces a mutating webhook configuration.
func (p *Plugin) SetMutating(c *admissionv1.MutatingWebhookConfiguration) {
	c = c.DeepCopy()
	hooks := make([]*hook, len(c.Webhooks))
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		webhookconfig.DefaultMutating(w)
		hooks[i] = p.compile(c.Name, webhookconfig.AsValidating(w), true)
		hooks[i].reinvoke = *w.ReinvocationPolicy == admissionv1.IfNeededReinvocationPolicy
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mutating[c.Name] = &mutatingConfig{name: c.Name, hooks: hooks}
	p.publish()
}

// SetValidating adds or replaces a validating webhook configuration.
func (p *Plugin) SetValidating(c *admissionv1.ValidatingWebhookConfiguration) {
	c = c.DeepCopy()
	hooks := make([]*hook, len(c.Webhooks))
	for i := range c.Webhooks {
		webhookconfig.Default(&c.Webhooks[i])
		hooks[i] = p.compile(c.Name, c.Webhooks[i], false)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.validating[c.Name] = &validatingConfig{name: c.Name, hooks: hooks}
	p.publish()
}

// DeleteMutating and DeleteValidating remove a configuration.
func (p *Plugin) DeleteMutating(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.mutating, name)
	p.publish()
}

// DeleteValidating removes a validating webhook configuration.
func (p *Plugin) DeleteValidating(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.validating, name)
	p.publish()
}

// publish makes the configurations held the ones requests see. p.mu is held.
func (p *Plugin) publish() {
	s := &snapshot{mutating: ordered(p.mutating), validating: ordered(p.validating)}
	var used []*webhookclient.Client
	for _, h := range append(append([]*hook(nil), s.mutating...), s.validating...) {
		if h.client != nil {
			used = append(used, h.client)
		}
	}
	p.clients.Keep(used)
	p.snap.Store(s)
}

func ordered(configs map[string]*mutatingConfig) []*hook {
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	var hooks []*hook
	for _, n := range names {
		hooks = append(hooks, configs[n].hooks...)
	}
	return hooks
}

// compile prepares one webhook; what cannot be prepared is kept as an
// error that applies when the webhook would be called.
func (p *Plugin) compile(config string, w admissionv1.ValidatingWebhook, mutating bool) *hook {
	h := &hook{config: config, spec: w, mutating: mutating}
	h.nsSel, h.selErr = selector(w.NamespaceSelector)
	if h.selErr == nil {
		h.objSel, h.selErr = selector(w.ObjectSelector)
	}
	if len(w.MatchConditions) > 0 {
		kind := "validating"
		if mutating {
			kind = "admit"
		}
		h.matcher = p.compiler.matcher(w, kind)
	}
	h.client, h.clientErr = p.clients.Get(clientConfig(w.ClientConfig))
	if h.client != nil {
		h.url = h.client.URL() + "?timeout=" + strconv.Itoa(int(*w.TimeoutSeconds)) + "s"
	}
	return h
}

func selector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}
