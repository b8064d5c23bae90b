// Package clusterroleaggregation fills the rules of cluster roles that
// have an aggregationRule with the rules of the cluster roles its label
// selectors pick (upstream's clusterrole-aggregation controller): admin,
// edit and view pick up what CRDs and add-ons label
// rbac.authorization.k8s.io/aggregate-to-<role>.
package clusterroleaggregation

import (
	"context"
	"fmt"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "clusterrole-aggregation"

// Controller aggregates cluster roles.
type Controller struct {
	client kubernetes.Interface
	roles  rbaclisters.ClusterRoleLister
	loop   *controller.Loop
}

// New builds the controller.
func New(c *controller.Context) (*Controller, error) {
	inf := c.Informers.Rbac().V1().ClusterRoles()
	ctl := &Controller{client: c.Client, roles: inf.Lister()}
	ctl.loop = c.NewLoop(Name, ctl.sync, c.Logger(Name))
	// Any role's change may change what an aggregated role selects:
	// every aggregated role is looked at again (there are few).
	enqueueAll := func(any) {
		roles, err := ctl.roles.List(labels.Everything())
		if err != nil {
			return
		}
		for _, r := range roles {
			if r.AggregationRule != nil {
				ctl.loop.Queue.Add(r.Name)
			}
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueAll,
		UpdateFunc: func(_, obj any) { enqueueAll(obj) },
		DeleteFunc: enqueueAll,
	}); err != nil {
		return nil, err
	}
	return ctl, nil
}

// Run aggregates until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.loop.Run(ctx, 1)
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	role, err := c.roles.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if role.AggregationRule == nil {
		return nil
	}
	all, err := c.roles.List(labels.Everything())
	if err != nil {
		return err
	}
	rules, err := Aggregate(role, all)
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(rules, role.Rules) {
		return nil
	}
	updated := role.DeepCopy()
	updated.Rules = rules
	if _, err := c.client.RbacV1().ClusterRoles().Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update aggregated cluster role %s: %w", name, err)
	}
	return nil
}

// Aggregate returns the rules role aggregates from all: the rules of
// every other role its selectors match, in the order of the roles' names,
// each distinct rule once.
func Aggregate(role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	var selectors []labels.Selector
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, fmt.Errorf("cluster role %s: selector: %w", role.Name, err)
		}
		selectors = append(selectors, sel)
	}
	sorted := append([]*rbacv1.ClusterRole(nil), all...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	rules := []rbacv1.PolicyRule{}
	for _, r := range sorted {
		if r.Name == role.Name || !matchesAny(selectors, r.Labels) {
			continue
		}
		for _, rule := range r.Rules {
			if !containsRule(rules, rule) {
				rules = append(rules, rule)
			}
		}
	}
	return rules, nil
}

func matchesAny(selectors []labels.Selector, l map[string]string) bool {
	for _, s := range selectors {
		if s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}

func containsRule(rules []rbacv1.PolicyRule, rule rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if apiequality.Semantic.DeepEqual(r, rule) {
			return true
		}
	}
	return false
}
