// Package workloadtest holds what the workload kinds' tests share: a
// realistic pod template and a compact way to assert validation errors by
// type and field path.
package workloadtest

import (
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PodTemplate returns a pod template as a user would write it after the
// server's defaults: one nginx container, the given labels and restart
// policy.
func PodTemplate(labels map[string]string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	grace := int64(30)
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                 restart,
			DNSPolicy:                     corev1.DNSClusterFirst,
			TerminationGracePeriodSeconds: &grace,
			SchedulerName:                 corev1.DefaultSchedulerName,
			SecurityContext:               &corev1.PodSecurityContext{},
			Containers: []corev1.Container{{
				Name:                     "web",
				Image:                    "nginx:1.27",
				ImagePullPolicy:          corev1.PullIfNotPresent,
				TerminationMessagePath:   corev1.TerminationMessagePathDefault,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				Ports:                    []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			}},
		},
	}
}

// Err is an expected validation error: its type and field path.
type Err struct {
	Type  field.ErrorType
	Field string
}

// Expect fails t unless errs are exactly want, in any order.
func Expect(t *testing.T, errs field.ErrorList, want ...Err) {
	t.Helper()
	var got, exp []string
	for _, e := range errs {
		got = append(got, string(e.Type)+" "+e.Field)
	}
	for _, e := range want {
		exp = append(exp, string(e.Type)+" "+e.Field)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("errors:\n  got  %q\n  want %q\nfull: %v", got, exp, errs.ToAggregate())
	}
}

// Required, Invalid, ... build expected errors tersely.
func Required(f string) Err     { return Err{field.ErrorTypeRequired, f} }
func Invalid(f string) Err      { return Err{field.ErrorTypeInvalid, f} }
func NotSupported(f string) Err { return Err{field.ErrorTypeNotSupported, f} }
func Forbidden(f string) Err    { return Err{field.ErrorTypeForbidden, f} }
func Duplicate(f string) Err    { return Err{field.ErrorTypeDuplicate, f} }
func TooLong(f string) Err      { return Err{field.ErrorTypeTooLong, f} }
func TooMany(f string) Err      { return Err{field.ErrorTypeTooMany, f} }
func NotFound(f string) Err     { return Err{field.ErrorTypeNotFound, f} }
