package endpointslice

import (
	"fmt"
	"strconv"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME ADDRESSTYPE PORTS ENDPOINTS AGE, as upstream does.
func table() *registry.Table {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "AddressType", Type: "string", Description: doc["addressType"]},
			{Name: "Ports", Type: "string", Description: doc["ports"]},
			{Name: "Endpoints", Type: "string", Description: doc["endpoints"]},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			eps := obj.(*discoveryv1.EndpointSlice)
			var ports []string
			for _, p := range eps.Ports {
				switch {
				case p.Port != nil:
					ports = append(ports, strconv.Itoa(int(*p.Port)))
				case p.Name != nil:
					ports = append(ports, *p.Name)
				default:
					ports = append(ports, "*")
				}
			}
			var addrs []string
			for _, ep := range eps.Endpoints {
				addrs = append(addrs, ep.Addresses...)
			}
			return []interface{}{eps.Name, string(eps.AddressType), firstThree(ports), firstThree(addrs), printers.Age(eps.CreationTimestamp)}, nil
		},
	}
}

// firstThree lists up to three items and how many more there are;
// "<unset>" when that comes out empty.
func firstThree(items []string) string {
	const max = 3
	if len(items) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(items[:max], ","), len(items)-max)
	}
	if s := strings.Join(items, ","); s != "" {
		return s
	}
	return "<unset>"
}
