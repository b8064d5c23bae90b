package podspec

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ptr[T any](v T) *T { return &v }

// validSpec is a realistic spec as a user writes it (before defaulting).
func validSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "web",
			Image: "registry.local:5000/flask-app:v1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 5000}},
			Env: []corev1.EnvVar{
				{Name: "MODE", Value: "prod"},
				{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
			},
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "config", MountPath: "/etc/app", ReadOnly: true}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5000)}}},
			Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}},
		}},
		InitContainers: []corev1.Container{
			{Name: "migrate", Image: "busybox", Command: []string{"sh", "-c", "true"}},
			{Name: "proxy", Image: "envoy:v1", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}},
		},
		Volumes: []corev1.Volume{
			{Name: "data"},
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
				Items:                []corev1.KeyToPath{{Key: "app.ini", Path: "app.ini"}}}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}},
			}}}},
		},
		NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
		Tolerations: []corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			{Key: "dedicated", Value: "web", Effect: corev1.TaintEffectNoSchedule},
		},
		Affinity: &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}}}},
			PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					TopologyKey:   "kubernetes.io/hostname"}}}},
		},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}},
		ServiceAccountName: "web",
		ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "regcred"}},
		SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), FSGroup: ptr(int64(2000))},
		PriorityClassName:  "high",
		SchedulingGates:    []corev1.PodSchedulingGate{{Name: "example.com/quota"}},
	}
}

func defaulted(mutate func(s *corev1.PodSpec)) corev1.PodSpec {
	s := validSpec()
	if mutate != nil {
		mutate(&s)
	}
	DefaultPodSpec(&s)
	return s
}

func TestValidSpec(t *testing.T) {
	s := defaulted(nil)
	if errs := ValidatePodSpec(&s, field.NewPath("spec")); len(errs) != 0 {
		t.Fatalf("valid spec rejected: %v", errs)
	}
	if errs := ValidatePodSpecWithOptions(&s, field.NewPath("spec"), Options{IsPod: true, PodName: "web-0"}); len(errs) != 0 {
		t.Fatalf("valid pod spec rejected: %v", errs)
	}
}

func TestDefaults(t *testing.T) {
	s := defaulted(func(s *corev1.PodSpec) {
		s.Containers = append(s.Containers,
			corev1.Container{Name: "latest", Image: "nginx"},
			corev1.Container{Name: "pinned", Image: "nginx@sha256:" + strings.Repeat("a", 64)},
			corev1.Container{Name: "tagged-latest", Image: "nginx:latest"})
		s.Volumes = append(s.Volumes,
			corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
			corev1.Volume{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls"}}})
	})
	if s.RestartPolicy != corev1.RestartPolicyAlways || s.DNSPolicy != corev1.DNSClusterFirst ||
		*s.TerminationGracePeriodSeconds != 30 || s.SchedulerName != "default-scheduler" || s.SecurityContext == nil {
		t.Errorf("spec defaults: restart %q dns %q grace %v scheduler %q", s.RestartPolicy, s.DNSPolicy, s.TerminationGracePeriodSeconds, s.SchedulerName)
	}
	if s.DeprecatedServiceAccount != "web" { //nolint:staticcheck
		t.Errorf("serviceAccount = %q, want it synced from serviceAccountName", s.DeprecatedServiceAccount) //nolint:staticcheck
	}
	pulls := map[string]corev1.PullPolicy{
		"web": corev1.PullIfNotPresent, "latest": corev1.PullAlways, "pinned": corev1.PullIfNotPresent, "tagged-latest": corev1.PullAlways,
	}
	for _, c := range s.Containers {
		if c.ImagePullPolicy != pulls[c.Name] {
			t.Errorf("container %s: imagePullPolicy %q, want %q", c.Name, c.ImagePullPolicy, pulls[c.Name])
		}
		if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
			t.Errorf("container %s: termination message %q %q", c.Name, c.TerminationMessagePath, c.TerminationMessagePolicy)
		}
	}
	web := s.Containers[0]
	if web.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("port protocol = %q", web.Ports[0].Protocol)
	}
	if web.Env[1].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Errorf("fieldRef apiVersion = %q", web.Env[1].ValueFrom.FieldRef.APIVersion)
	}
	lp := web.LivenessProbe
	if lp.TimeoutSeconds != 1 || lp.PeriodSeconds != 10 || lp.SuccessThreshold != 1 || lp.FailureThreshold != 3 || lp.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Errorf("liveness probe defaults: %+v", lp)
	}
	if s.Volumes[0].EmptyDir == nil {
		t.Errorf("volume without source should become emptyDir")
	}
	if *s.Volumes[1].ConfigMap.DefaultMode != 0644 {
		t.Errorf("configMap defaultMode = %o", *s.Volumes[1].ConfigMap.DefaultMode)
	}
	proj := s.Volumes[2].Projected
	if *proj.DefaultMode != 0644 || *proj.Sources[0].ServiceAccountToken.ExpirationSeconds != 3600 ||
		proj.Sources[1].DownwardAPI.Items[0].FieldRef.APIVersion != "v1" {
		t.Errorf("projected defaults: %+v", proj)
	}
	if s.Volumes[3].HostPath.Type == nil || *s.Volumes[3].HostPath.Type != "" {
		t.Errorf("hostPath type should default to \"\"")
	}
	if *s.Volumes[4].Secret.DefaultMode != 0644 {
		t.Errorf("secret defaultMode = %o", *s.Volumes[4].Secret.DefaultMode)
	}
	// Pod-only defaults are not applied to templates.
	if s.EnableServiceLinks != nil || web.Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("template got pod-only defaults")
	}
}

func TestDefaultPodOnly(t *testing.T) {
	s := corev1.PodSpec{
		HostNetwork:                   true,
		TerminationGracePeriodSeconds: ptr(int64(-5)),
		Containers: []corev1.Container{{
			Name: "c", Image: "i",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			},
		}},
	}
	DefaultPodOnly(&s)
	c := s.Containers[0]
	if got := c.Resources.Requests.Memory().String(); got != "1Gi" {
		t.Errorf("memory request = %s, want the limit", got)
	}
	if got := c.Resources.Requests.Cpu().String(); got != "500m" {
		t.Errorf("cpu request = %s, want it kept", got)
	}
	if s.EnableServiceLinks == nil || !*s.EnableServiceLinks {
		t.Errorf("enableServiceLinks not defaulted to true")
	}
	if c.Ports[0].HostPort != 8080 {
		t.Errorf("hostPort = %d, want containerPort with hostNetwork", c.Ports[0].HostPort)
	}
	if *s.TerminationGracePeriodSeconds != 1 {
		t.Errorf("negative grace period = %d, want 1", *s.TerminationGracePeriodSeconds)
	}
}

type wantErr struct {
	typ  field.ErrorType
	path string
}

func TestInvalidSpecs(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *corev1.PodSpec)
		pod    bool
		want   []wantErr
	}{
		{"no containers", func(s *corev1.PodSpec) { s.Containers = nil }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.containers"}}},
		{"container name not a DNS label", func(s *corev1.PodSpec) { s.Containers[0].Name = "Web_1" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].name"}}},
		{"missing container name", func(s *corev1.PodSpec) { s.Containers[0].Name = "" }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].name"}}},
		{"duplicate container names", func(s *corev1.PodSpec) {
			s.Containers = append(s.Containers, corev1.Container{Name: "web", Image: "x"})
		}, false, []wantErr{{field.ErrorTypeDuplicate, "spec.containers[1].name"}}},
		{"init container reuses a container name", func(s *corev1.PodSpec) { s.InitContainers[0].Name = "web" }, false,
			[]wantErr{{field.ErrorTypeDuplicate, "spec.initContainers[0].name"}}},
		{"missing image", func(s *corev1.PodSpec) { s.Containers[0].Image = "" }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].image"}}},
		{"image with spaces in a pod", func(s *corev1.PodSpec) { s.Containers[0].Image = " nginx" }, true, nil},
		{"bad pull policy", func(s *corev1.PodSpec) { s.Containers[0].ImagePullPolicy = "Sometimes" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.containers[0].imagePullPolicy"}}},
		{"port out of range", func(s *corev1.PodSpec) { s.Containers[0].Ports[0].ContainerPort = 70000 }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].ports[0].containerPort"}}},
		{"missing port", func(s *corev1.PodSpec) { s.Containers[0].Ports[0].ContainerPort = 0 }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].ports[0].containerPort"}}},
		{"bad protocol", func(s *corev1.PodSpec) { s.Containers[0].Ports[0].Protocol = "HTTP" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.containers[0].ports[0].protocol"}}},
		{"port name too long", func(s *corev1.PodSpec) { s.Containers[0].Ports[0].Name = "much-too-long-name" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].ports[0].name"}}},
		{"duplicate host ports", func(s *corev1.PodSpec) {
			s.Containers[0].Ports[0].HostPort = 80
			s.Containers = append(s.Containers, corev1.Container{Name: "b", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 81, HostPort: 80}}})
		}, false, []wantErr{{field.ErrorTypeDuplicate, "spec.containers[1].ports[0].hostPort"}}},
		{"hostNetwork port mismatch", func(s *corev1.PodSpec) {
			s.HostNetwork = true
			s.Containers[0].Ports[0].HostPort = 80
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"}}},
		{"env name with '='", func(s *corev1.PodSpec) { s.Containers[0].Env[0].Name = "A=B" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].env[0].name"}}},
		{"env value and valueFrom", func(s *corev1.PodSpec) { s.Containers[0].Env[1].Value = "x" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].env[1].valueFrom"}}},
		{"env fieldRef not supported", func(s *corev1.PodSpec) { s.Containers[0].Env[1].ValueFrom.FieldRef.FieldPath = "metadata.labels" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath"}}},
		{"env secret without key", func(s *corev1.PodSpec) { s.Containers[0].Env[2].ValueFrom.SecretKeyRef.Key = "" }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].env[2].valueFrom.secretKeyRef.key"}}},
		{"envFrom without source", func(s *corev1.PodSpec) { s.Containers[0].EnvFrom[0].ConfigMapRef = nil }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].envFrom"}}},
		{"mount of an undeclared volume", func(s *corev1.PodSpec) { s.Containers[0].VolumeMounts[0].Name = "cache" }, false,
			[]wantErr{{field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"}}},
		{"duplicate mount path", func(s *corev1.PodSpec) { s.Containers[0].VolumeMounts[1].MountPath = "/data" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].volumeMounts[1].mountPath"}}},
		{"subPath escaping", func(s *corev1.PodSpec) { s.Containers[0].VolumeMounts[0].SubPath = "../etc" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].volumeMounts.subPath"}}},
		{"duplicate volume names", func(s *corev1.PodSpec) { s.Volumes[1].Name = "data" }, false,
			[]wantErr{{field.ErrorTypeDuplicate, "spec.volumes[1].name"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[1].name"}}},
		{"two volume sources", func(s *corev1.PodSpec) {
			s.Volumes[1].Secret = &corev1.SecretVolumeSource{SecretName: "s"}
		}, false, []wantErr{{field.ErrorTypeForbidden, "spec.volumes[1].configMap"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[1].name"}}},
		{"hostPath without path", func(s *corev1.PodSpec) {
			s.Volumes[0].HostPath = &corev1.HostPathVolumeSource{}
		}, false, []wantErr{{field.ErrorTypeRequired, "spec.volumes[0].hostPath.path"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"}}},
		{"configMap volume bad mode", func(s *corev1.PodSpec) { s.Volumes[1].ConfigMap.DefaultMode = ptr(int32(01000)) }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.volumes[1].configMap.defaultMode"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[1].name"}}},
		{"configMap item absolute path", func(s *corev1.PodSpec) { s.Volumes[1].ConfigMap.Items[0].Path = "/etc/x" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.volumes[1].configMap.items[0].path"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[1].name"}}},
		{"token too short", func(s *corev1.PodSpec) {
			s.Volumes[2].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds = ptr(int64(60))
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.volumes[2].projected.sources[0].serviceAccountToken.expirationSeconds"}}},
		{"request above limit", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2")
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].resources.requests"}}},
		{"negative request", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("-1")
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].resources.requests[memory]"}}},
		{"unknown resource", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Limits["gpu"] = resource.MustParse("1")
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].resources.limits[gpu]"}, {field.ErrorTypeInvalid, "spec.containers[0].resources.limits[gpu]"}}},
		{"extended resource request without limit", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		}, false, []wantErr{{field.ErrorTypeRequired, "spec.containers[0].resources.limits"}}},
		{"fractional extended resource", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Limits["example.com/gpu"] = resource.MustParse("500m")
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].resources.limits[example.com/gpu]"}}},
		{"probe without handler", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.HTTPGet = nil }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].livenessProbe"}}},
		{"probe with two handlers", func(s *corev1.PodSpec) {
			s.Containers[0].LivenessProbe.Exec = &corev1.ExecAction{Command: []string{"x"}}
		}, false, []wantErr{{field.ErrorTypeForbidden, "spec.containers[0].livenessProbe.httpGet"}}},
		{"liveness successThreshold", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.SuccessThreshold = 2 }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].livenessProbe.successThreshold"}}},
		{"negative probe delay", func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe.InitialDelaySeconds = -1 }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].readinessProbe.initialDelaySeconds"}}},
		{"probe bad port name", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.HTTPGet.Port = intstr.FromString("Not_A_Port") }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].livenessProbe.httpGet.port"}}},
		{"preStop sleep longer than grace", func(s *corev1.PodSpec) { s.Containers[0].Lifecycle.PreStop.Sleep.Seconds = 60 }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].lifecycle.preStop.sleep"}}},
		{"init container with probe", func(s *corev1.PodSpec) {
			s.InitContainers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}
		}, false, []wantErr{{field.ErrorTypeForbidden, "spec.initContainers[0].livenessProbe"}}},
		{"init container restartPolicy Never with no rules is fine, OnFailure too", func(s *corev1.PodSpec) {
			s.InitContainers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyOnFailure)
		}, false, nil},
		{"init container bad restartPolicy", func(s *corev1.PodSpec) {
			s.InitContainers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicy("Sometimes"))
		}, false, []wantErr{{field.ErrorTypeNotSupported, "spec.initContainers[0].restartPolicy"}}},
		{"bad restartPolicy", func(s *corev1.PodSpec) { s.RestartPolicy = "Sometimes" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.restartPolicy"}}},
		{"bad dnsPolicy", func(s *corev1.PodSpec) { s.DNSPolicy = "Google" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.dnsPolicy"}}},
		{"dnsPolicy None without config", func(s *corev1.PodSpec) { s.DNSPolicy = corev1.DNSNone }, false,
			[]wantErr{{field.ErrorTypeRequired, "spec.dnsConfig"}}},
		{"bad nameserver", func(s *corev1.PodSpec) {
			s.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"not-an-ip"}}
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.dnsConfig.nameservers[0]"}}},
		{"nameserver with leading zeros", func(s *corev1.PodSpec) {
			s.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"10.043.0.10"}}
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.dnsConfig.nameservers[0]"}}},
		{"nodeSelector bad value", func(s *corev1.PodSpec) { s.NodeSelector["disk"] = "fast ssd" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.nodeSelector"}}},
		{"node affinity without terms", func(s *corev1.PodSpec) {
			s.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = nil
		}, false, []wantErr{{field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"}}},
		{"node affinity In without values", func(s *corev1.PodSpec) {
			s.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values = nil
		}, false, []wantErr{{field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"}}},
		{"node affinity bad operator", func(s *corev1.PodSpec) {
			s.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Near"
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator"}}},
		{"pod anti-affinity without topology key", func(s *corev1.PodSpec) {
			s.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey = ""
		}, false, []wantErr{
			{field.ErrorTypeRequired, "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey"},
			{field.ErrorTypeInvalid, "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey"},
			{field.ErrorTypeInvalid, "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey"},
		}},
		{"pod affinity weight", func(s *corev1.PodSpec) {
			s.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight = 0
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"}}},
		{"toleration Exists with value", func(s *corev1.PodSpec) { s.Tolerations[0].Value = "x" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.tolerations[0].operator"}}},
		{"toleration seconds without NoExecute", func(s *corev1.PodSpec) { s.Tolerations[1].TolerationSeconds = ptr(int64(5)) }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.tolerations[1].effect"}}},
		{"toleration bad effect", func(s *corev1.PodSpec) { s.Tolerations[1].Effect = "NoRun" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.tolerations[1].effect"}}},
		{"toleration bad operator", func(s *corev1.PodSpec) { s.Tolerations[1].Operator = "Like" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.tolerations[1].operator"}}},
		{"toleration empty key needs Exists", func(s *corev1.PodSpec) { s.Tolerations[1].Key = "" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.tolerations[1].operator"}}},
		{"spread maxSkew", func(s *corev1.PodSpec) { s.TopologySpreadConstraints[0].MaxSkew = 0 }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.topologySpreadConstraints[0].maxSkew"}}},
		{"spread bad whenUnsatisfiable", func(s *corev1.PodSpec) { s.TopologySpreadConstraints[0].WhenUnsatisfiable = "Maybe" }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.topologySpreadConstraints[0].whenUnsatisfiable"}}},
		{"spread duplicate", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = append(s.TopologySpreadConstraints, s.TopologySpreadConstraints[0])
		}, false, []wantErr{{field.ErrorTypeDuplicate, "spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}"}}},
		{"spread minDomains with ScheduleAnyway", func(s *corev1.PodSpec) { s.TopologySpreadConstraints[0].MinDomains = ptr(int32(2)) }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.topologySpreadConstraints[0].minDomains"}}},
		{"spread matchLabelKeys repeating the selector", func(s *corev1.PodSpec) { s.TopologySpreadConstraints[0].MatchLabelKeys = []string{"app"} }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.topologySpreadConstraints[0].matchLabelKeys[0]"}}},
		{"pull secret with more than a name", func(s *corev1.PodSpec) { s.ImagePullSecrets = []corev1.LocalObjectReference{{}} }, false, nil},
		{"bad priorityClassName", func(s *corev1.PodSpec) { s.PriorityClassName = "High" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.priorityClassName"}}},
		{"bad scheduling gate", func(s *corev1.PodSpec) { s.SchedulingGates = append(s.SchedulingGates, s.SchedulingGates[0]) }, false,
			[]wantErr{{field.ErrorTypeDuplicate, "spec.schedulingGates[1]"}}},
		{"activeDeadlineSeconds zero", func(s *corev1.PodSpec) { s.ActiveDeadlineSeconds = ptr(int64(0)) }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"}}},
		{"hostname not a label", func(s *corev1.PodSpec) { s.Hostname = "a.b" }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.hostname"}}},
		{"bad runAsUser", func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = ptr(int64(-1)) }, false,
			[]wantErr{{field.ErrorTypeInvalid, "spec.securityContext.runAsUser"}}},
		{"sysctl with hostNetwork", func(s *corev1.PodSpec) {
			s.HostNetwork = true
			s.Containers[0].Ports = nil
			s.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.securityContext.sysctls[0].name"}}},
		{"privileged without escalation", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false)}
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].securityContext"}}},
		{"seccomp localhost without profile", func(s *corev1.PodSpec) {
			s.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}
		}, false, []wantErr{{field.ErrorTypeRequired, "spec.securityContext.seccompProfile.localhostProfile"}}},
		{"windows options in a linux pod", func(s *corev1.PodSpec) {
			s.OS = &corev1.PodOS{Name: corev1.Linux}
			s.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr("admin")}
		}, false, []wantErr{{field.ErrorTypeForbidden, "spec.securityContext.windowsOptions"}}},
		{"bad os", func(s *corev1.PodSpec) { s.OS = &corev1.PodOS{Name: "plan9"} }, false,
			[]wantErr{{field.ErrorTypeNotSupported, "spec.os"}}},
		{"claim ref not in resourceClaims", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}}
		}, false, []wantErr{{field.ErrorTypeNotFound, "spec.containers[0].resources.claims[0]"}}},
		{"hugepages without cpu or memory", func(s *corev1.PodSpec) {
			s.Containers[0].Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{"hugepages-2Mi": resource.MustParse("4Mi")}}
		}, false, []wantErr{{field.ErrorTypeForbidden, "spec.containers[0].resources"}}},
		{"pod-level request below containers'", func(s *corev1.PodSpec) {
			s.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.resources.requests[cpu]"}}},
		{"ephemeral volume without template", func(s *corev1.PodSpec) {
			s.Volumes[0].Ephemeral = &corev1.EphemeralVolumeSource{}
		}, false, []wantErr{{field.ErrorTypeRequired, "spec.volumes[0].ephemeral.volumeClaimTemplate"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"}}},
		{"fileKeyRef needs an emptyDir", func(s *corev1.PodSpec) {
			s.Containers[0].Env = append(s.Containers[0].Env, corev1.EnvVar{Name: "K", ValueFrom: &corev1.EnvVarSource{
				FileKeyRef: &corev1.FileKeySelector{VolumeName: "config", Path: "env", Key: "K"}}})
		}, false, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].env[3].valueFrom.fileKeyRef.volumeName"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := defaulted(tc.mutate)
			errs := ValidatePodSpecWithOptions(&s, field.NewPath("spec"), Options{IsPod: tc.pod})
			if tc.name == "image with spaces in a pod" {
				// Only the pod's own check refuses it; the spec check
				// keeps templates' historical leniency.
				errs = append(errs, ValidateImageWhitespace(&s.Containers[0], field.NewPath("spec", "containers").Index(0))...)
				tc.want = []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].image"}}
			}
			if tc.name == "pull secret with more than a name" {
				// An empty reference is fine; only extra fields are not,
				// and LocalObjectReference has none in v1.
				tc.want = nil
			}
			assertErrors(t, errs, tc.want)
		})
	}
}

// TestDefaultedFieldsRequired covers fields defaulting fills in, which a
// stored object could still lack or break.
func TestDefaultedFieldsRequired(t *testing.T) {
	s := defaulted(nil)
	s.DeprecatedServiceAccount = "other" //nolint:staticcheck
	assertErrors(t, ValidatePodSpec(&s, field.NewPath("spec")), []wantErr{{field.ErrorTypeInvalid, "spec.deprecatedServiceAccount"}})

	s = defaulted(nil)
	s.TerminationGracePeriodSeconds = nil
	s.Containers[0].TerminationMessagePolicy = ""
	s.Containers[0].Ports[0].Protocol = ""
	assertErrors(t, ValidatePodSpec(&s, field.NewPath("spec")), []wantErr{
		{field.ErrorTypeRequired, "spec.terminationGracePeriodSeconds"},
		{field.ErrorTypeRequired, "spec.containers[0].terminationMessagePolicy"},
		{field.ErrorTypeRequired, "spec.containers[0].ports[0].protocol"},
	})
}

func assertErrors(t *testing.T, errs field.ErrorList, want []wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if errs[i].Type != w.typ || errs[i].Field != w.path {
			t.Errorf("error %d = %s at %s, want %s at %s (%v)", i, errs[i].Type, errs[i].Field, w.typ, w.path, errs[i])
		}
	}
}

func TestTemplate(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       validSpec(),
	}
	DefaultPodTemplateSpec(&tmpl)
	path := field.NewPath("spec", "template")
	if errs := ValidatePodTemplateSpec(&tmpl, path); len(errs) != 0 {
		t.Fatalf("valid template rejected: %v", errs)
	}
	if errs := ValidateSelectorMatchesTemplate(labels.SelectorFromSet(labels.Set{"app": "web"}), &tmpl, path); len(errs) != 0 {
		t.Errorf("matching selector rejected: %v", errs)
	}
	errs := ValidateSelectorMatchesTemplate(labels.SelectorFromSet(labels.Set{"app": "api"}), &tmpl, path)
	assertErrors(t, errs, []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}})

	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	tmpl.Spec.ActiveDeadlineSeconds = ptr(int64(10))
	errs = ValidateLongRunningTemplate(&tmpl, path, "ReplicaSet")
	assertErrors(t, errs, []wantErr{
		{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"},
		{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"},
	})

	bad := tmpl.DeepCopy()
	bad.Labels["bad key!"] = "x"
	bad.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
	errs = ValidatePodTemplateSpec(bad, path)
	assertErrors(t, errs, []wantErr{
		{field.ErrorTypeInvalid, "spec.template.labels"},
		{field.ErrorTypeForbidden, "spec.template.spec.ephemeralContainers"},
	})
}

func TestPodAnnotations(t *testing.T) {
	spec := defaulted(nil)
	path := field.NewPath("metadata", "annotations")
	cases := map[string]wantErr{
		corev1.PodDeletionCost + "=+5":                                                     {field.ErrorTypeInvalid, "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]"},
		corev1.MirrorPodAnnotationKey + "=x":                                               {field.ErrorTypeInvalid, "metadata.annotations[kubernetes.io/config.mirror]"},
		corev1.SeccompPodAnnotationKey + "=bogus":                                          {field.ErrorTypeInvalid, "metadata.annotations.seccomp.security.alpha.kubernetes.io/pod"},
		corev1.TolerationsAnnotationKey + "=not json":                                      {field.ErrorTypeInvalid, "metadata.annotations"},
		corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "nope=runtime/default": {field.ErrorTypeInvalid, "metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]"},
	}
	for kv, want := range cases {
		parts := strings.SplitN(kv, "=", 2)
		errs := ValidatePodAnnotations(map[string]string{parts[0]: parts[1]}, &spec, path)
		assertErrors(t, errs, []wantErr{want})
	}
	if errs := ValidatePodAnnotations(map[string]string{corev1.PodDeletionCost: "-20"}, &spec, path); len(errs) != 0 {
		t.Errorf("valid deletion cost rejected: %v", errs)
	}
}

func TestDropDisabledFields(t *testing.T) {
	s := defaulted(func(s *corev1.PodSpec) {
		s.Volumes[0].EmptyDir = &corev1.EmptyDirVolumeSource{Mode: ptr(int32(0700))}
		s.Containers[0].Lifecycle.StopSignal = ptr(corev1.SIGTERM)
		s.Containers[0].LivenessProbe.HTTPGet.Protocol = ptr(corev1.HTTPProtocolHTTP2)
	})
	old := s.DeepCopy()
	DropDisabledFields(&s, nil)
	if s.Volumes[0].EmptyDir.Mode != nil || s.Containers[0].Lifecycle.StopSignal != nil || s.Containers[0].LivenessProbe.HTTPGet.Protocol != nil {
		t.Errorf("alpha fields kept on create")
	}
	kept := old.DeepCopy()
	DropDisabledFields(kept, old)
	if kept.Volumes[0].EmptyDir.Mode == nil || kept.Containers[0].Lifecycle.StopSignal == nil {
		t.Errorf("alpha fields in use by the stored object were dropped on update")
	}
}

func TestDefaultPodLevelResources(t *testing.T) {
	s := defaulted(nil)
	s.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	DefaultPodLevelResources(&s)
	// cpu: the containers' requests (100m web + 0 sidecar); memory: the
	// pod limit... unless the containers ask: 64Mi.
	if got := s.Resources.Requests.Cpu().String(); got != "100m" {
		t.Errorf("pod cpu request = %s", got)
	}
	if got := s.Resources.Requests.Memory().String(); got != "64Mi" {
		t.Errorf("pod memory request = %s", got)
	}
}
