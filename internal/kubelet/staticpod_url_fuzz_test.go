package kubelet

import (
	"strings"
	"testing"
)

// FuzzURLPods: the manifest URL's body is untrusted input. Whatever it
// is, URLPods returns an error or pods the kubelet can run: named for
// the node, bound to it, their UID their hash, the same every time.
func FuzzURLPods(f *testing.F) {
	for _, seed := range []string{
		webManifest,
		podList,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`,
		`{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]}`,
		"apiVersion: v1\nkind: PodList\nitems: []\n",
		"apiVersion: v1\nkind: PodList\nitems: [null, {}]\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c, image: i}], volumes: [{name: v}]}\n",
		"{{{",
		"a: [",
		"null",
		"",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
		"&a [*a]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pods, err := URLPods(body, testURL, "node-1")
		if err != nil {
			return
		}
		again, err := URLPods(body, testURL, "node-1")
		if err != nil || len(again) != len(pods) {
			t.Fatalf("the same body again: %d pods, %v", len(again), err)
		}
		for i, p := range pods {
			if !strings.HasSuffix(p.Name, "-node-1") || p.Namespace == "" || p.Spec.NodeName != "node-1" ||
				p.UID == "" || string(p.UID) != p.Annotations[annotationConfigHash] ||
				p.Annotations[annotationConfigSource] != sourceHTTP || again[i].UID != p.UID {
				t.Errorf("pod %d: %+v", i, p.ObjectMeta)
			}
		}
	})
}
