package service

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

// hello is the tutorial's service as `kubectl expose --type=LoadBalancer`
// writes it, before defaults.
func hello() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-node", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "hello-node"},
			Ports:    []corev1.ServicePort{{Port: 8080}},
		},
	}
}

func web() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}, {Name: "https", Port: 443}},
		},
	}
}

// created runs a service through what the server does on create before
// allocation.
func created(svc *corev1.Service) *corev1.Service {
	Default(svc)
	PrepareForCreate(svc)
	return svc
}

func TestDefault(t *testing.T) {
	svc := created(hello())
	s := svc.Spec
	if s.SessionAffinity != corev1.ServiceAffinityNone || s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Errorf("affinity %q, external traffic %q", s.SessionAffinity, s.ExternalTrafficPolicy)
	}
	if s.InternalTrafficPolicy == nil || *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster {
		t.Errorf("internal traffic = %v", s.InternalTrafficPolicy)
	}
	if s.AllocateLoadBalancerNodePorts == nil || !*s.AllocateLoadBalancerNodePorts {
		t.Errorf("allocateLoadBalancerNodePorts = %v", s.AllocateLoadBalancerNodePorts)
	}
	if p := s.Ports[0]; p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(8080) {
		t.Errorf("port = %+v", p)
	}
	if s.IPFamilyPolicy == nil || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack || !reflect.DeepEqual(s.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) {
		t.Errorf("families = %v %v", s.IPFamilyPolicy, s.IPFamilies)
	}

	svc = web()
	svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	created(svc)
	if c := svc.Spec.SessionAffinityConfig; c == nil || *c.ClientIP.TimeoutSeconds != 10800 {
		t.Errorf("affinity config = %+v", c)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ExternalTrafficPolicy != "" || svc.Spec.AllocateLoadBalancerNodePorts != nil {
		t.Errorf("cluster IP service: %+v", svc.Spec)
	}
	if svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("named targetPort overwritten: %v", svc.Spec.Ports[0].TargetPort)
	}

	// A headless service without a selector is dual-stack.
	svc = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}}
	created(svc)
	if *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyRequireDualStack || len(svc.Spec.IPFamilies) != 2 || !reflect.DeepEqual(svc.Spec.ClusterIPs, []string{"None"}) {
		t.Errorf("headless selectorless: %v %v %v", *svc.Spec.IPFamilyPolicy, svc.Spec.IPFamilies, svc.Spec.ClusterIPs)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		base   func() *corev1.Service
		mutate func(svc *corev1.Service)
		want   []string
	}{
		{"load balancer", hello, nil, nil},
		{"cluster IP", web, nil, nil},
		{"requested cluster IP", web, func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.20" }, nil},
		{"headless", web, func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }, nil},
		{"node port", web, func(s *corev1.Service) { s.Spec.Type = "NodePort"; s.Spec.Ports[0].NodePort = 30175 }, nil},
		{"external name", web, func(s *corev1.Service) {
			s.Spec.Type = "ExternalName"
			s.Spec.ExternalName = "db.example.com."
			s.Spec.Ports = nil
		}, nil},
		{"no ports", web, func(s *corev1.Service) { s.Spec.Ports = nil }, []string{"FieldValueRequired spec.ports"}},
		{"unnamed port", web, func(s *corev1.Service) { s.Spec.Ports[1].Name = "" }, []string{"FieldValueRequired spec.ports[1].name"}},
		{"duplicate port name", web, func(s *corev1.Service) { s.Spec.Ports[1].Name = "http" }, []string{"FieldValueDuplicate spec.ports[1].name"}},
		{"bad port", web, func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, []string{"FieldValueInvalid spec.ports[0].port"}},
		{"bad protocol", web, func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP" }, []string{"FieldValueNotSupported spec.ports[0].protocol"}},
		{"bad targetPort", web, func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(70000) }, []string{"FieldValueInvalid spec.ports[0].targetPort"}},
		{"duplicate port", web, func(s *corev1.Service) { s.Spec.Ports[1].Port = 80 }, []string{"FieldValueDuplicate spec.ports[1]"}},
		{"node port on cluster IP", web, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }, []string{"FieldValueForbidden spec.ports[0].nodePort"}},
		{"duplicate node port", web, func(s *corev1.Service) {
			s.Spec.Type = "NodePort"
			s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort = 30080, 30080
		}, []string{"FieldValueDuplicate spec.ports[1].nodePort"}},
		{"bad type", web, func(s *corev1.Service) { s.Spec.Type = "Internal" }, []string{"FieldValueNotSupported spec.type"}},
		{"bad selector", web, func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "web server"} }, []string{"FieldValueInvalid spec.selector"}},
		{"headless node port", web, func(s *corev1.Service) { s.Spec.Type = "NodePort"; s.Spec.ClusterIP = "None" }, []string{"FieldValueInvalid spec.clusterIPs[0]"}},
		{"bad cluster IP", web, func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.256" }, []string{"FieldValueInvalid spec.clusterIPs[0]"}},
		{"IPv6 cluster IP", web, func(s *corev1.Service) { s.Spec.ClusterIP = "fd00::10" }, []string{"FieldValueInvalid spec.clusterIPs[0]"}},
		{"require dual-stack", web, func(s *corev1.Service) {
			p := corev1.IPFamilyPolicyRequireDualStack
			s.Spec.IPFamilyPolicy = &p
		}, []string{"FieldValueInvalid spec.ipFamilyPolicy"}},
		{"IPv6 family", web, func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }, []string{"FieldValueInvalid spec.ipFamilies[0]"}},
		{"bad family", web, func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{"IPv5"} }, []string{"FieldValueNotSupported spec.ipFamilies[0]"}},
		{"external name without name", web, func(s *corev1.Service) { s.Spec.Type = "ExternalName"; s.Spec.Ports = nil }, []string{"FieldValueRequired spec.externalName"}},
		{"external name with cluster IP", web, func(s *corev1.Service) {
			s.Spec.Type = "ExternalName"
			s.Spec.ExternalName = "db.example.com"
			s.Spec.ClusterIP = "10.43.0.20"
		}, []string{"FieldValueForbidden spec.clusterIPs"}},
		{"client IP without config", web, func(s *corev1.Service) { s.Spec.SessionAffinity = "ClientIP" }, nil},
		{"client IP timeout too long", web, func(s *corev1.Service) {
			s.Spec.SessionAffinity = "ClientIP"
			long := int32(90000)
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &long}}
		}, []string{"FieldValueInvalid spec.sessionAffinityConfig.clientIP.timeoutSeconds"}},
		{"bad affinity", web, func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }, []string{"FieldValueNotSupported spec.sessionAffinity"}},
		{"source ranges on cluster IP", web, func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} }, []string{"FieldValueForbidden spec.LoadBalancerSourceRanges"}},
		{"bad source range", hello, func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{" 10.0.0.0/8", "10.0.0.1"} }, []string{"FieldValueInvalid spec.LoadBalancerSourceRanges[1]"}},
		{"source range annotation", hello, func(s *corev1.Service) {
			s.Annotations = map[string]string{corev1.AnnotationLoadBalancerSourceRangesKey: "10.0.0.0/8, 192.168.0.0/33"}
		}, []string{"FieldValueInvalid metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]"}},
		{"loopback external IP", web, func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} }, []string{"FieldValueInvalid spec.externalIPs[0]"}},
		{"external traffic on cluster IP", web, func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Local" }, []string{"FieldValueInvalid spec.externalTrafficPolicy"}},
		{"local load balancer", hello, func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Local" }, nil},
		{"health check on cluster traffic", hello, func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 30000 }, []string{"FieldValueInvalid spec.healthCheckNodePort"}},
		{"bad internal traffic", web, func(s *corev1.Service) {
			p := corev1.ServiceInternalTrafficPolicy("Zone")
			s.Spec.InternalTrafficPolicy = &p
		}, []string{"FieldValueNotSupported spec.internalTrafficPolicy"}},
		{"bad traffic distribution", web, func(s *corev1.Service) { td := "Nearest"; s.Spec.TrafficDistribution = &td }, []string{"FieldValueNotSupported spec.trafficDistribution"}},
		{"load balancer class on cluster IP", web, func(s *corev1.Service) { c := "example.com/lb"; s.Spec.LoadBalancerClass = &c }, []string{"FieldValueForbidden spec.loadBalancerClass"}},
		{"allocate node ports on cluster IP", web, func(s *corev1.Service) { yes := true; s.Spec.AllocateLoadBalancerNodePorts = &yes }, []string{"FieldValueForbidden spec.allocateLoadBalancerNodePorts"}},
		{"topology annotations disagree", web, func(s *corev1.Service) {
			s.Annotations = map[string]string{corev1.DeprecatedAnnotationTopologyAwareHints: "auto", corev1.AnnotationTopologyMode: "Auto"}
		}, []string{"FieldValueInvalid metadata.annotations[service.kubernetes.io/topology-mode]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.base()
			if tc.mutate != nil {
				tc.mutate(svc)
			}
			created(svc)
			if got := errKeys(Validate(svc)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

// stored is a service as the server stores it after create and
// allocation.
func stored(svc *corev1.Service, ip string, nodePorts ...int32) *corev1.Service {
	created(svc)
	setAllocated(svc, ip, nodePorts...)
	return svc
}

// setAllocated plays the allocator: it writes a cluster IP and node ports.
func setAllocated(svc *corev1.Service, ip string, nodePorts ...int32) {
	if ip != "" {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	}
	for i, np := range nodePorts {
		svc.Spec.Ports[i].NodePort = np
	}
}

func TestUpdate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		old    func() *corev1.Service
		mutate func(svc *corev1.Service)
		check  func(t *testing.T, svc *corev1.Service)
		want   []string
	}{
		{"replace without allocated values", func() *corev1.Service { return stored(hello(), "10.43.12.7", 30175) },
			func(svc *corev1.Service) {
				svc.Spec.ClusterIP, svc.Spec.ClusterIPs, svc.Spec.Ports[0].NodePort = "", nil, 0
			},
			func(t *testing.T, svc *corev1.Service) {
				if svc.Spec.ClusterIP != "10.43.12.7" || svc.Spec.Ports[0].NodePort != 30175 {
					t.Errorf("allocated values not carried over: %+v", svc.Spec)
				}
			}, nil},
		{"change cluster IP", func() *corev1.Service { return stored(web(), "10.43.0.5") },
			func(svc *corev1.Service) { svc.Spec.ClusterIP = "10.43.0.6" }, nil, []string{"FieldValueInvalid spec.clusterIPs[0]"}},
		{"to ExternalName", func() *corev1.Service { return stored(hello(), "10.43.12.7", 30175) },
			func(svc *corev1.Service) { svc.Spec.Type = "ExternalName"; svc.Spec.ExternalName = "example.com" },
			func(t *testing.T, svc *corev1.Service) {
				s := svc.Spec
				if s.ClusterIP != "" || s.ClusterIPs != nil || s.IPFamilies != nil || s.IPFamilyPolicy != nil || s.Ports[0].NodePort != 0 ||
					s.ExternalTrafficPolicy != "" || s.AllocateLoadBalancerNodePorts != nil {
					t.Errorf("type-dependent fields kept: %+v", s)
				}
			}, nil},
		{"load balancer to cluster IP", func() *corev1.Service { return stored(hello(), "10.43.12.7", 30175) },
			func(svc *corev1.Service) { svc.Spec.Type = "ClusterIP" },
			func(t *testing.T, svc *corev1.Service) {
				if svc.Spec.Ports[0].NodePort != 0 || svc.Spec.ClusterIP != "10.43.12.7" {
					t.Errorf("spec = %+v", svc.Spec)
				}
			}, nil},
		{"health check port changed", func() *corev1.Service {
			svc := hello()
			svc.Spec.ExternalTrafficPolicy = "Local"
			svc = stored(svc, "10.43.12.7", 30175)
			svc.Spec.HealthCheckNodePort = 31000
			return svc
		}, func(svc *corev1.Service) { svc.Spec.HealthCheckNodePort = 31001 }, nil, []string{"FieldValueForbidden spec.healthCheckNodePort"}},
		{"load balancer class changed", func() *corev1.Service {
			svc := hello()
			c := "example.com/a"
			svc.Spec.LoadBalancerClass = &c
			return stored(svc, "10.43.12.7", 30175)
		}, func(svc *corev1.Service) { c := "example.com/b"; svc.Spec.LoadBalancerClass = &c }, nil, []string{"FieldValueInvalid spec.loadBalancerClass"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old()
			svc := old.DeepCopy()
			tc.mutate(svc)
			Default(svc)
			PrepareForUpdate(svc, old)
			if tc.check != nil {
				tc.check(t, svc)
			}
			if got := errKeys(ValidateUpdate(svc, old)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateStatus(t *testing.T) {
	vip := corev1.LoadBalancerIPModeVIP
	old := stored(hello(), "10.43.12.7", 30175)
	for _, tc := range []struct {
		name    string
		ingress []corev1.LoadBalancerIngress
		want    []string
	}{
		{"ip", []corev1.LoadBalancerIngress{{IP: "192.0.2.10", IPMode: &vip}}, nil},
		{"hostname", []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}}, nil},
		{"ip without mode", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}, []string{"FieldValueRequired status.loadBalancer.ingress[0].ipMode"}},
		{"bad ip", []corev1.LoadBalancerIngress{{IP: "192.0.2", IPMode: &vip}}, []string{"FieldValueInvalid status.loadBalancer.ingress[0].ip"}},
		{"ip as hostname", []corev1.LoadBalancerIngress{{Hostname: "192.0.2.10"}}, []string{"FieldValueInvalid status.loadBalancer.ingress[0].hostname"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := old.DeepCopy()
			svc.Status.LoadBalancer.Ingress = tc.ingress
			if got := errKeys(ValidateStatus(svc, old)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
	svc := stored(web(), "10.43.0.5")
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "x"}}
	if got := errKeys(ValidateStatus(svc, svc)); !reflect.DeepEqual(got, []string{"FieldValueForbidden status.loadBalancer.ingress"}) {
		t.Errorf("ingress on cluster IP: %v", got)
	}
}

func TestTable(t *testing.T) {
	created := metav1.NewTime(time.Now().Add(-7 * time.Second))
	vip := corev1.LoadBalancerIPModeVIP
	pending := stored(hello(), "10.43.12.7", 30175)
	ready := pending.DeepCopy()
	ready.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.20", IPMode: &vip}, {Hostname: "lb.example.com"}, {IP: "192.0.2.10", IPMode: &vip}}
	external := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{Type: "ExternalName", ExternalName: "db.example.com"}}
	headless := stored(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "h"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}}, "")
	dns := stored(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"k8s-app": "kube-dns"},
		Ports:    []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: "UDP"}, {Name: "dns-tcp", Port: 53, Protocol: "TCP"}},
	}}, "10.43.0.10")
	for _, tc := range []struct {
		svc  *corev1.Service
		want []interface{}
	}{
		{pending, []interface{}{"hello-node", "LoadBalancer", "10.43.12.7", "<pending>", "8080:30175/TCP", "7s", "app=hello-node"}},
		{ready, []interface{}{"hello-node", "LoadBalancer", "10.43.12.7", "192.0.2.10,192.0.2.20,lb.example.com", "8080:30175/TCP", "7s", "app=hello-node"}},
		{external, []interface{}{"db", "ExternalName", "<none>", "db.example.com", "<none>", "7s", "<none>"}},
		{headless, []interface{}{"h", "ClusterIP", "None", "<none>", "<none>", "7s", "<none>"}},
		{dns, []interface{}{"kube-dns", "ClusterIP", "10.43.0.10", "<none>", "53/UDP,53/TCP", "7s", "k8s-app=kube-dns"}},
	} {
		tc.svc.CreationTimestamp = created
		row, err := Resource().Table.Row(tc.svc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(row, tc.want) {
			t.Errorf("row = %q\nwant  %q", row, tc.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	svc := created(web())
	svc.Spec.ExternalIPs = []string{"192.0.2.1"}
	svc.Spec.ExternalName = "x.example.com"
	want := []string{
		"spec.externalIPs is deprecated and may no longer be implemented in some clusters",
		`spec.externalName is ignored when spec.type is not "ExternalName"`,
	}
	if got := Warnings(svc); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings = %q, want %q", got, want)
	}
}
