package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// burstablePod is newPod with requests below its limits and a sidecar.
func burstablePod() *corev1.Pod {
	p := newPod()
	p.Generation = 1
	p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	p.Spec.InitContainers = []corev1.Container{
		{Name: "sidecar", Image: "busybox", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}},
		{Name: "setup", Image: "busybox",
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}},
	}
	p.Status.QOSClass = QOSClass(p)
	return p
}

func TestResize(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name   string
		old    func(*corev1.Pod)
		resize func(*corev1.Pod)
		want   []wantErr
		// contains: errors that must be among others.
		contains []wantErr
		// gen: the generation after PrepareForResize.
		gen int64
	}{
		{name: "cpu and memory up", gen: 2, resize: func(p *corev1.Pod) {
			r := &p.Spec.Containers[0].Resources
			r.Requests[corev1.ResourceCPU], r.Limits[corev1.ResourceCPU] = q("200m"), q("1")
			r.Requests[corev1.ResourceMemory] = q("96Mi")
		}},
		{name: "sidecar cpu", gen: 2, resize: func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Resources.Requests[corev1.ResourceCPU] = q("75m")
		}},
		// As upstream: the policy comes with the request, but only cpu
		// and memory may differ.
		{name: "resize policy", gen: 2, resize: func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
		}, want: []wantErr{{field.ErrorTypeForbidden, "spec"}}},
		{name: "no change", gen: 1, resize: func(*corev1.Pod) {}},
		{name: "other fields are dropped, not refused", gen: 1, resize: func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "other:v2"
			p.Labels = map[string]string{"run": "changed"}
			p.Spec.ActiveDeadlineSeconds = ptr(int64(5))
		}},
		{name: "qos class changes", gen: 2, resize: func(p *corev1.Pod) {
			r := &p.Spec.Containers[0].Resources
			r.Requests[corev1.ResourceCPU], r.Requests[corev1.ResourceMemory] = r.Limits[corev1.ResourceCPU], r.Limits[corev1.ResourceMemory]
			p.Spec.InitContainers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("1")}, Limits: corev1.ResourceList{corev1.ResourceCPU: q("1")}}
			p.Spec.InitContainers[1].Resources = p.Spec.InitContainers[0].Resources
			for i := range p.Spec.InitContainers {
				r := &p.Spec.InitContainers[i].Resources
				r.Requests[corev1.ResourceMemory], r.Limits[corev1.ResourceMemory] = q("1Mi"), q("1Mi")
			}
		}, want: []wantErr{{field.ErrorTypeInvalid, "spec"}}},
		{name: "request removed", gen: 2, resize: func(p *corev1.Pod) {
			delete(p.Spec.Containers[0].Resources.Requests, corev1.ResourceMemory)
			delete(p.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, contains: []wantErr{
			{field.ErrorTypeForbidden, "spec.containers[0].resources.requests"},
			{field.ErrorTypeForbidden, "spec.containers[0].resources.limits"},
		}},
		{name: "ephemeral storage", gen: 2, resize: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceEphemeralStorage] = q("1Gi")
		}, want: []wantErr{{field.ErrorTypeForbidden, "spec"}}},
		{name: "init container cpu", gen: 2, resize: func(p *corev1.Pod) {
			p.Spec.InitContainers[1].Resources.Requests[corev1.ResourceCPU] = q("60m")
		}},
		{name: "init container image", gen: 1, resize: func(p *corev1.Pod) {
			p.Spec.InitContainers[1].Image = "other"
		}},
		{name: "container renamed", gen: 1, resize: func(p *corev1.Pod) {
			p.Spec.Containers[0].Name = "api"
		}, want: []wantErr{{field.ErrorTypeForbidden, "spec.containers[0].name"}}},
		{name: "container added", gen: 1, resize: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0])
			p.Spec.Containers[1].Name = "two"
		}, want: []wantErr{{field.ErrorTypeForbidden, "spec.containers"}}},
		{name: "static pod", gen: 2, old: func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}, resize: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = q("200m")
		}, want: []wantErr{{field.ErrorTypeForbidden, field.NewPath("").String()}}},
		{name: "node without resize support", gen: 2, old: func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, resize: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = q("200m")
		}, want: []wantErr{{field.ErrorTypeForbidden, "spec"}}},
		{name: "pod-level cpu", gen: 2, old: func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("2")}}
		}, resize: func(p *corev1.Pod) {
			p.Spec.Resources.Limits[corev1.ResourceCPU] = q("3")
		}},
		{name: "pod-level limit removed", gen: 2, old: func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("2")}}
		}, resize: func(p *corev1.Pod) {
			p.Spec.Resources.Limits = corev1.ResourceList{}
		}, want: []wantErr{{field.ErrorTypeForbidden, "spec.resources.limits"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := burstablePod()
			if tt.old != nil {
				tt.old(old)
			}
			p := old.DeepCopy()
			tt.resize(p)
			PrepareForResize(p, old)
			if p.Generation != tt.gen {
				t.Errorf("generation = %d, want %d", p.Generation, tt.gen)
			}
			errs := ValidateResize(p, old)
			if tt.contains != nil {
				for _, w := range tt.contains {
					if !hasError(errs, w.typ, w.path) {
						t.Errorf("errors = %v, want %s at %s among them", errs, w.typ, w.path)
					}
				}
				return
			}
			assertErrors(t, errs, tt.want...)
		})
	}
}

func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

// TestResizeKeepsOtherFields: only resources and resize policies come
// from the request; the rest, metadata and status too, stays the old.
func TestResizeKeepsOtherFields(t *testing.T) {
	old := burstablePod()
	old.Status.Phase = corev1.PodRunning
	p := old.DeepCopy()
	p.Spec.Containers[0].Image = "other:v2"
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("300m")
	p.Annotations = map[string]string{"a": "b"}
	p.Status.Phase = corev1.PodFailed
	PrepareForResize(p, old)
	c := p.Spec.Containers[0]
	if c.Image != "flask-app:v1" || p.Annotations != nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("image %q, annotations %v, phase %s: want the old ones", c.Image, p.Annotations, p.Status.Phase)
	}
	if got := c.Resources.Requests[corev1.ResourceCPU]; got.String() != "300m" {
		t.Errorf("cpu request = %s, want 300m", got.String())
	}
}
