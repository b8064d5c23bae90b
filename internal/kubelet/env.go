package kubelet

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet/downward"
)

// objects fetches what a container's environment refers to.
type objects interface {
	configMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error)
	secret(ctx context.Context, ns, name string) (*corev1.Secret, error)
}

// envInput is what a container's environment is made from.
type envInput struct {
	Pod             *corev1.Pod
	Container       *corev1.Container
	PodIPs, HostIPs []string
	Allocatable     corev1.ResourceList
	Services        []*corev1.Service // every service the kubelet knows
}

// orderedEnv keeps the first position of each name, the last value.
type orderedEnv struct {
	names []string
	vals  map[string]string
}

func (e *orderedEnv) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.names = append(e.names, k)
	}
	e.vals[k] = v
}

// makeEnv is upstream's makeEnvironmentVariables: envFrom, then env
// (with $(VAR) expansion over what came before and the services), then
// the service variables not set otherwise. The second result lists
// envFrom keys skipped as invalid names.
func makeEnv(ctx context.Context, in envInput, objs objects) ([]*runtimeapi.KeyValue, []string, error) {
	pod, c := in.Pod, in.Container
	svcEnv := serviceEnv(pod, in.Services)
	env := &orderedEnv{vals: map[string]string{}}
	var invalid []string
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, err := objs.configMap(ctx, pod.Namespace, from.ConfigMapRef.Name)
			if err != nil {
				if ptr.Deref(from.ConfigMapRef.Optional, false) && isNotFound(err) {
					continue
				}
				return nil, nil, err
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, err := objs.secret(ctx, pod.Namespace, from.SecretRef.Name)
			if err != nil {
				if ptr.Deref(from.SecretRef.Optional, false) && isNotFound(err) {
					continue
				}
				return nil, nil, err
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := from.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				invalid = append(invalid, name)
				continue
			}
			env.set(name, data[k])
		}
	}
	lookup := func(name string) (string, bool) {
		if v, ok := env.vals[name]; ok {
			return v, true
		}
		v, ok := svcEnv[name]
		return v, ok
	}
	for _, e := range c.Env {
		v, err := envValue(ctx, in, e, lookup, objs)
		if err != nil {
			return nil, nil, err
		}
		env.set(e.Name, v)
	}
	var out []*runtimeapi.KeyValue
	for _, k := range env.names {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(env.vals[k])})
	}
	svcKeys := make([]string, 0, len(svcEnv))
	for k := range svcEnv {
		if _, ok := env.vals[k]; !ok {
			svcKeys = append(svcKeys, k)
		}
	}
	sort.Strings(svcKeys)
	for _, k := range svcKeys {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(svcEnv[k])})
	}
	return out, invalid, nil
}

func envValue(ctx context.Context, in envInput, e corev1.EnvVar, lookup func(string) (string, bool), objs objects) (string, error) {
	pod := in.Pod
	if e.ValueFrom == nil {
		return expand(e.Value, lookup), nil
	}
	f := e.ValueFrom
	switch {
	case f.FieldRef != nil:
		return downward.Field(pod, f.FieldRef.FieldPath, in.PodIPs, in.HostIPs)
	case f.ResourceFieldRef != nil:
		return downward.Resource(pod, in.Container, f.ResourceFieldRef, in.Allocatable)
	case f.ConfigMapKeyRef != nil:
		ref := f.ConfigMapKeyRef
		cm, err := objs.configMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if ptr.Deref(ref.Optional, false) && isNotFound(err) {
				return "", nil
			}
			return "", err
		}
		v, ok := cm.Data[ref.Key]
		if !ok && !ptr.Deref(ref.Optional, false) {
			return "", fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, nil
	case f.SecretKeyRef != nil:
		ref := f.SecretKeyRef
		s, err := objs.secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if ptr.Deref(ref.Optional, false) && isNotFound(err) {
				return "", nil
			}
			return "", err
		}
		v, ok := s.Data[ref.Key]
		if !ok && !ptr.Deref(ref.Optional, false) {
			return "", fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), nil
	}
	return "", fmt.Errorf("environment variable %s has no value source", e.Name)
}

// serviceEnv is the docker-links style variables of the services a pod
// sees: its namespace's (when enableServiceLinks) and the API's own.
func serviceEnv(pod *corev1.Pod, services []*corev1.Service) map[string]string {
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	chosen := map[string]*corev1.Service{}
	var master *corev1.Service
	for _, s := range services {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		if s.Namespace == "default" && s.Name == "kubernetes" {
			master = s
		}
		if links && s.Namespace == pod.Namespace {
			chosen[s.Name] = s
		}
	}
	if master != nil {
		if _, ok := chosen[master.Name]; !ok {
			chosen[master.Name] = master
		}
	}
	env := map[string]string{}
	for _, s := range chosen {
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		ip := s.Spec.ClusterIP
		env[name+"_SERVICE_HOST"] = ip
		for i, p := range s.Spec.Ports {
			port := strconv.Itoa(int(p.Port))
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			url := fmt.Sprintf("%s://%s", proto, joinHostPort(ip, port))
			if i == 0 {
				env[name+"_SERVICE_PORT"] = port
				env[name+"_PORT"] = url
			}
			if p.Name != "" {
				env[name+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = port
			}
			prefix := name + "_PORT_" + port + "_" + strings.ToUpper(proto)
			env[prefix] = url
			env[prefix+"_PROTO"] = proto
			env[prefix+"_PORT"] = port
			env[prefix+"_ADDR"] = ip
		}
	}
	return env
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
