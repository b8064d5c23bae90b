package service

import (
	"errors"
	"reflect"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// pools is an in-memory Allocator: IPs 10.43.0.x from x=10, node ports
// from 30000.
type pools struct {
	ips   map[string]bool
	ports map[int32]bool
	nextX int
	nextP int32
}

func newPools() *pools {
	return &pools{ips: map[string]bool{}, ports: map[int32]bool{}, nextX: 10, nextP: 30000}
}

var errTaken = errors.New("provided port is already allocated")

func (p *pools) ReserveIP(ip string) error {
	if p.ips[ip] {
		return errors.New("provided IP is already allocated")
	}
	p.ips[ip] = true
	return nil
}

func (p *pools) NextIP() (string, error) {
	for {
		ip := "10.43.0." + itoa(p.nextX)
		p.nextX++
		if !p.ips[ip] {
			p.ips[ip] = true
			return ip, nil
		}
	}
}

func (p *pools) ReleaseIP(ip string) { delete(p.ips, ip) }

func (p *pools) ReserveNodePort(port int32) error {
	if p.ports[port] {
		return errTaken
	}
	p.ports[port] = true
	return nil
}

func (p *pools) NextNodePort() (int32, error) {
	for {
		port := p.nextP
		p.nextP++
		if !p.ports[port] {
			p.ports[port] = true
			return port, nil
		}
	}
}

func (p *pools) ReleaseNodePort(port int32) { delete(p.ports, port) }

func (p *pools) heldPorts() []int32 {
	var out []int32
	for port := range p.ports {
		out = append(out, port)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func itoa(i int) string {
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

func TestAllocateCreate(t *testing.T) {
	p := newPools()
	svc := created(hello())
	svc.Spec.ExternalTrafficPolicy = "Local"
	if errs := Validate(svc); len(errs) != 0 {
		t.Fatalf("invalid: %v", errs)
	}
	taken, release, err := Allocate(svc, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.43.0.10" || !reflect.DeepEqual(svc.Spec.ClusterIPs, []string{"10.43.0.10"}) {
		t.Errorf("cluster IP = %q %v", svc.Spec.ClusterIP, svc.Spec.ClusterIPs)
	}
	if svc.Spec.Ports[0].NodePort != 30000 || svc.Spec.HealthCheckNodePort != 30001 {
		t.Errorf("node port %d, health check %d", svc.Spec.Ports[0].NodePort, svc.Spec.HealthCheckNodePort)
	}
	if want := (Held{IPs: []string{"10.43.0.10"}, NodePorts: []int32{30000, 30001}}); !reflect.DeepEqual(taken, want) || !reflect.DeepEqual(release, Held{}) {
		t.Errorf("taken %+v release %+v", taken, release)
	}
	if errs := Validate(svc); len(errs) != 0 {
		t.Errorf("allocated service invalid: %v", errs)
	}
	if got := HoldsOf(svc); !reflect.DeepEqual(got, taken) {
		t.Errorf("HoldsOf = %+v, want %+v", got, taken)
	}
}

func TestAllocateSharesNodePortByPortNumber(t *testing.T) {
	p := newPools()
	svc := created(&corev1.Service{Spec: corev1.ServiceSpec{Type: "NodePort", Ports: []corev1.ServicePort{
		{Name: "dns", Port: 53, Protocol: "UDP"}, {Name: "dns-tcp", Port: 53, Protocol: "TCP", NodePort: 30053}, {Name: "http", Port: 80},
	}}})
	if _, _, err := Allocate(svc, nil, p); err != nil {
		t.Fatal(err)
	}
	got := []int32{svc.Spec.Ports[0].NodePort, svc.Spec.Ports[1].NodePort, svc.Spec.Ports[2].NodePort}
	if want := []int32{30053, 30053, 30000}; !reflect.DeepEqual(got, want) {
		t.Errorf("node ports = %v, want %v", got, want)
	}
}

func TestAllocateConflictTakesNothing(t *testing.T) {
	p := newPools()
	p.ports[30175] = true
	svc := created(&corev1.Service{Spec: corev1.ServiceSpec{Type: "NodePort", ClusterIP: "10.43.0.50", Ports: []corev1.ServicePort{{Port: 80, NodePort: 30175}}}})
	_, _, err := Allocate(svc, nil, p)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("err = %v, want Invalid", err)
	}
	if c := err.(*apierrors.StatusError).ErrStatus.Details.Causes; len(c) != 1 || c[0].Field != "spec.ports[0].nodePort" {
		t.Errorf("causes = %+v", c)
	}
	if p.ips["10.43.0.50"] || !reflect.DeepEqual(p.heldPorts(), []int32{30175}) {
		t.Errorf("failed allocation kept %v %v", p.ips, p.heldPorts())
	}

	p.ips["10.43.0.60"] = true
	svc = created(&corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.60", Ports: []corev1.ServicePort{{Port: 80}}}})
	if _, _, err := Allocate(svc, nil, p); !apierrors.IsInvalid(err) {
		t.Errorf("taken cluster IP: err = %v, want Invalid", err)
	}
}

func TestAllocateHeadlessAndExternalName(t *testing.T) {
	p := newPools()
	for _, svc := range []*corev1.Service{
		created(&corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"a": "b"}}}),
		created(&corev1.Service{Spec: corev1.ServiceSpec{Type: "ExternalName", ExternalName: "x.example.com"}}),
	} {
		taken, _, err := Allocate(svc, nil, p)
		if err != nil || len(taken.IPs)+len(taken.NodePorts) != 0 {
			t.Errorf("%s: taken %+v, err %v", svc.Spec.Type, taken, err)
		}
	}
}

func TestAllocateUpdate(t *testing.T) {
	p := newPools()
	old := created(hello())
	if _, _, err := Allocate(old, nil, p); err != nil {
		t.Fatal(err)
	}

	// LoadBalancer -> ClusterIP: the node port goes back after the write.
	svc := old.DeepCopy()
	svc.Spec.Type = "ClusterIP"
	Default(svc)
	PrepareForUpdate(svc, old)
	if errs := ValidateUpdate(svc, old); len(errs) != 0 {
		t.Fatalf("invalid: %v", errs)
	}
	taken, release, err := Allocate(svc, old, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(taken.IPs)+len(taken.NodePorts) != 0 || !reflect.DeepEqual(release, Held{NodePorts: []int32{30000}}) {
		t.Errorf("taken %+v release %+v", taken, release)
	}

	// ClusterIP -> NodePort with a requested port, and one allocated.
	old = svc
	svc = old.DeepCopy()
	svc.Spec.Type = "NodePort"
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "admin", Port: 9090})
	svc.Spec.Ports[0].Name, svc.Spec.Ports[0].NodePort = "web", 30175
	Default(svc)
	PrepareForUpdate(svc, old)
	if errs := ValidateUpdate(svc, old); len(errs) != 0 {
		t.Fatalf("invalid: %v", errs)
	}
	taken, release, err = Allocate(svc, old, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(taken, Held{NodePorts: []int32{30175, 30001}}) || len(release.NodePorts)+len(release.IPs) != 0 {
		t.Errorf("taken %+v release %+v", taken, release)
	}

	// NodePort -> ExternalName: cluster IP and node ports go back.
	old = svc
	svc = old.DeepCopy()
	svc.Spec.Type, svc.Spec.ExternalName = "ExternalName", "example.com"
	Default(svc)
	PrepareForUpdate(svc, old)
	if errs := ValidateUpdate(svc, old); len(errs) != 0 {
		t.Fatalf("invalid: %v", errs)
	}
	_, release, err = Allocate(svc, old, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Held{IPs: []string{"10.43.0.10"}, NodePorts: []int32{30175, 30001}}); !reflect.DeepEqual(release, want) {
		t.Errorf("release %+v, want %+v", release, want)
	}
}
