package apiserver_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func resourceMustParse(s string) resource.Quantity { return resource.MustParse(s) }

// warningCollector receives the Warning headers a client sees.
type warningCollector func(msg string)

func (f warningCollector) HandleWarningHeader(code int, agent string, text string) { f(text) }

func clientFor(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
