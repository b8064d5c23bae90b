package service

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, and SELECTOR
// with -o wide, as upstream does.
func table() *registry.Table {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Type", Type: "string", Description: spec["type"]},
			{Name: "Cluster-IP", Type: "string", Description: spec["clusterIP"]},
			{Name: "External-IP", Type: "string", Description: spec["externalIPs"]},
			{Name: "Port(s)", Type: "string", Description: spec["ports"]},
			printers.AgeColumn,
			{Name: "Selector", Type: "string", Priority: 1, Description: spec["selector"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			svc := obj.(*corev1.Service)
			clusterIP := "<none>"
			if len(svc.Spec.ClusterIPs) > 0 {
				clusterIP = svc.Spec.ClusterIPs[0]
			}
			return []interface{}{
				svc.Name, string(svc.Spec.Type), clusterIP, externalIP(svc), printers.OrNone(portsCell(svc.Spec.Ports)),
				printers.Age(svc.CreationTimestamp), labels.FormatLabels(svc.Spec.Selector),
			}, nil
		},
	}
}

// externalIP is the EXTERNAL-IP cell: external IPs for cluster IP and
// node port services, the load balancer's ingress (IPs, else hostnames,
// sorted) plus external IPs, "<pending>" while a load balancer has
// neither, and the DNS name of ExternalName services.
func externalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		ingress := ingressAddresses(svc.Status.LoadBalancer)
		all := append(ingress, svc.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// ingressAddresses lists each ingress point's IP, or its hostname when it
// has no IP, once each, sorted.
func ingressAddresses(s corev1.LoadBalancerStatus) []string {
	seen := map[string]bool{}
	var out []string
	for _, ing := range s.Ingress {
		a := ing.IP
		if a == "" {
			a = ing.Hostname
		}
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// portsCell prints ports as port/PROTOCOL, or port:nodePort/PROTOCOL.
func portsCell(ports []corev1.ServicePort) string {
	cells := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			cells[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			cells[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(cells, ",")
}
