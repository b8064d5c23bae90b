package ingress

import (
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME CLASS HOSTS ADDRESS PORTS AGE, as upstream does.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
			{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
			{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
			{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			ing := obj.(*networkingv1.Ingress)
			class := "<none>"
			if ing.Spec.IngressClassName != nil {
				class = *ing.Spec.IngressClassName
			}
			ports := "80"
			if len(ing.Spec.TLS) > 0 {
				ports = "80, 443"
			}
			return []interface{}{ing.Name, class, hosts(ing.Spec.Rules), addresses(ing.Status.LoadBalancer), ports, printers.Age(ing.CreationTimestamp)}, nil
		},
	}
}

// hosts lists the first three rule hosts, "*" when no rule names one.
// When a rule is left over after three hosts, it says how many rules
// there are beyond three (upstream counts rules, not hosts).
func hosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	for _, r := range rules {
		if len(list) == max {
			return fmt.Sprintf("%s + %d more...", strings.Join(list, ","), len(rules)-max)
		}
		if r.Host != "" {
			list = append(list, r.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	return strings.Join(list, ",")
}

// addresses lists the load balancer's IPs or host names, sorted and
// without repeats. The server always prints wide, so nothing is cut.
func addresses(lb networkingv1.IngressLoadBalancerStatus) string {
	seen := map[string]bool{}
	var list []string
	for _, in := range lb.Ingress {
		a := in.IP
		if a == "" {
			a = in.Hostname
		}
		if a != "" && !seen[a] {
			seen[a] = true
			list = append(list, a)
		}
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}
