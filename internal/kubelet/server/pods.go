package server

import (
	"encoding/json"
	"net/http"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// servePods serves /pods: the pods bound to the node, as a v1 PodList.
func (s *Server) servePods(w http.ResponseWriter, r *http.Request) {
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		writeError(w, err)
		return
	}
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
	for _, p := range pods {
		list.Items = append(list.Items, *p)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	writeJSON(w, list)
}

// serveRunningPods serves /runningpods/: the pods the runtime runs, as
// the runtime knows them (names, UIDs, containers and their images).
func (s *Server) serveRunningPods(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sbs, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err != nil {
		writeError(w, err)
		return
	}
	cs, err := s.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		writeError(w, err)
		return
	}
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
	index := map[string]int{}
	for _, sb := range sbs.Items {
		m := sb.GetMetadata()
		index[sb.Id] = len(list.Items)
		list.Items = append(list.Items, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: types.UID(m.GetUid())}})
	}
	for _, c := range cs.Containers {
		i, ok := index[c.PodSandboxId]
		if !ok {
			continue
		}
		list.Items[i].Spec.Containers = append(list.Items[i].Spec.Containers, corev1.Container{Name: c.GetMetadata().GetName(), Image: c.GetImage().GetImage()})
	}
	writeJSON(w, list)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
