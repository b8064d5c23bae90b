package apiserver_test

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/apiserver"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz targets' seed corpus in testdata/fuzz")

// TestWriteFuzzSeeds writes the seed corpus of the fuzz targets: realistic
// valid manifests in every format, and the classic bad inputs.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz")
	}
	writeCorpus(t, "FuzzDecodeCreateBody", bodySeeds(t))
	writeCorpus(t, "FuzzQueryParameters", querySeeds())
}

type seed struct {
	name   string
	values []any
}

func writeCorpus(t *testing.T, target string, seeds []seed) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range seeds {
		if seen[s.name] {
			t.Fatalf("seed %s twice", s.name)
		}
		seen[s.name] = true
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, v := range s.values {
			switch v := v.(type) {
			case string:
				fmt.Fprintf(&b, "string(%q)\n", v)
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			default:
				t.Fatalf("seed %s: value of type %T", s.name, v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, s.name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	ctJSON     = "application/json"
	ctYAML     = "application/yaml"
	ctProtobuf = "application/vnd.kubernetes.protobuf"
)

func bodySeeds(t *testing.T) []seed {
	var seeds []seed
	add := func(name, resource, contentType string, body string) {
		seeds = append(seeds, seed{name, []any{resource, contentType, []byte(body)}})
	}
	// Realistic manifests, as kubectl and client-go send them.
	add("configmap-json", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"fuzz","labels":{"tier":"web"},"annotations":{"owner":"ops"}},"data":{"color":"blue","app.properties":"a=1\nb=2\n"},"binaryData":{"logo":"iVBORw0KGgo="}}`)
	add("configmap-yaml", "configmaps", ctYAML, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {tier: web}\ndata:\n  color: blue\n  multi: |\n    line one\n    line two\nimmutable: false\n")
	add("configmap-generatename", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"},"data":{"k":"v"}}`)
	add("pod-json", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":80,"name":"http"}],"env":[{"name":"MODE","value":"prod"},{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"},"limits":{"memory":"128Mi"}},"readinessProbe":{"httpGet":{"path":"/","port":"http"},"periodSeconds":5},"volumeMounts":[{"name":"cfg","mountPath":"/etc/cfg"}]}],"volumes":[{"name":"cfg","configMap":{"name":"settings"}}],"restartPolicy":"Always"}}`)
	add("pod-yaml", "pods", ctYAML, `apiVersion: v1
kind: Pod
metadata:
  name: flask
  labels:
    app: flask
spec:
  initContainers:
  - name: init
    image: busybox
    command: ["sh", "-c", "echo hi"]
  containers:
  - name: flask
    image: localhost:5000/flask:latest
    args: ["--port", "5000"]
    ports:
    - containerPort: 5000
    securityContext:
      runAsNonRoot: true
      runAsUser: 1000
  tolerations:
  - key: node.kubernetes.io/not-ready
    operator: Exists
    effect: NoExecute
    tolerationSeconds: 300
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: kubernetes.io/os, operator: In, values: [linux]}
`)
	add("pod-with-status", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"st"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","podIP":"10.42.0.5","conditions":[{"type":"Ready","status":"True"}]}}`)
	add("pod-on-node", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bound","finalizers":["example.com/hold"]},"spec":{"nodeName":"node-1","containers":[{"name":"c","image":"i"}]}}`)
	add("deployment-yaml", "deployments", ctYAML, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
`)
	add("deployment-json", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},"spec":{"replicas":2,"revisionHistoryLimit":5,"progressDeadlineSeconds":120,"selector":{"matchExpressions":[{"key":"app","operator":"In","values":["api"]}]},"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"api","image":"api:v2"}]}}}}`)
	add("service-nodeport-yaml", "services", ctYAML, `apiVersion: v1
kind: Service
metadata:
  name: flask
spec:
  type: NodePort
  selector: {app: flask}
  ports:
  - port: 80
    targetPort: 5000
    nodePort: 30175
`)
	add("service-loadbalancer-json", "services", ctJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"LoadBalancer","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"},{"name":"https","port":443,"protocol":"TCP"}],"externalTrafficPolicy":"Local","sessionAffinity":"ClientIP"}}`)
	add("service-headless", "services", ctYAML, "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  clusterIP: None\n  selector: {app: db}\n  ports: [{port: 5432}]\n")
	add("service-externalname", "services", ctYAML, "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n  type: ExternalName\n  externalName: db.example.com\n")
	add("event-yaml", "events", ctYAML, `apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: web.17a
eventTime: "2025-01-01T00:00:00.000000Z"
reportingController: example.com/fuzz
reportingInstance: fuzz-1
action: Scheduled
reason: Scheduled
type: Normal
note: Successfully assigned default/web to node-1
regarding: {kind: Pod, namespace: fuzz, name: web, apiVersion: v1}
series: {count: 2, lastObservedTime: "2025-01-01T00:01:00.000000Z"}
`)
	add("event-json", "events", ctJSON, `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e1"},"eventTime":"2025-01-01T00:00:00.000000Z","reportingController":"kubelet","reportingInstance":"node-1","action":"Pulling","reason":"Pulling","type":"Warning","regarding":{"kind":"Pod","name":"web"}}`)
	add("event-core-v1-on-events-k8s-io", "events", ctJSON, `{"apiVersion":"v1","kind":"Event","metadata":{"name":"old"},"involvedObject":{"kind":"Pod","name":"p"},"reason":"Started","message":"m","type":"Normal"}`)
	add("event-no-eventtime", "events", ctJSON, `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e2"},"reportingController":"c","reportingInstance":"i","action":"A","reason":"R","type":"Normal"}`)

	// Patches (the same body goes to every patch type).
	add("json-patch", "configmaps", ctJSON, `[{"op":"add","path":"/data/new","value":"x"},{"op":"replace","path":"/metadata/labels","value":{"a":"b"}},{"op":"test","path":"/kind","value":"ConfigMap"}]`)
	add("json-patch-bad-path", "configmaps", ctJSON, `[{"op":"remove","path":"/spec/nothing"},{"op":"move","from":"/a","path":"/a/b"}]`)
	add("json-patch-replace-name", "pods", ctJSON, `[{"op":"replace","path":"/metadata/name","value":"renamed"},{"op":"replace","path":"/metadata/namespace","value":"other"}]`)
	add("json-patch-copy-growth", "configmaps", ctJSON, `[{"op":"add","path":"/data/a","value":"xxxxxxxxxxxxxxxx"},{"op":"copy","from":"/data","path":"/binaryData"},{"op":"copy","from":"/metadata","path":"/metadata/labels"}]`)
	add("merge-patch", "deployments", ctJSON, `{"metadata":{"labels":{"patched":"yes"},"finalizers":null},"spec":{"replicas":5,"template":{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}}}`)
	add("merge-patch-null-spec", "deployments", ctJSON, `{"spec":null,"status":{"replicas":9}}`)
	add("strategic-patch-directives", "pods", ctJSON, `{"spec":{"containers":[{"name":"c","$patch":"delete"},{"name":"d","image":"x"}],"$setElementOrder/containers":[{"name":"d"}]},"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],"$retainKeys":["labels"]}}`)
	add("strategic-patch-replace", "services", ctJSON, `{"spec":{"ports":[{"port":81,"$patch":"replace"}],"$patch":"replace"}}`)
	add("strategic-patch-bad-directive", "deployments", ctJSON, `{"spec":{"$patch":"frobnicate","template":{"spec":{"containers":{"$patch":"delete"}}}}}`)
	add("apply-yaml", "configmaps", ctYAML, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: target\ndata:\n  applied: \"yes\"\n")
	add("apply-deployment", "deployments", ctYAML, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: target\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: c\n        image: nginx:3\n")

	// The classic bad ones.
	add("malformed-json", "configmaps", ctJSON, `{"apiVersion":"v1","kind":`)
	add("malformed-yaml", "configmaps", ctYAML, "apiVersion: v1\nkind: [\n")
	add("yaml-tabs", "configmaps", ctYAML, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n")
	add("yaml-multidoc", "configmaps", ctYAML, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n")
	add("yaml-anchors-merge", "configmaps", ctYAML, "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: anchors\n  labels: &l {a: b}\ndata:\n  <<: *l\n  c: d\n")
	add("yaml-billion-laughs", "configmaps", ctYAML, `apiVersion: v1
kind: ConfigMap
metadata: {name: lol}
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`)
	add("yaml-json-with-bom", "configmaps", ctYAML, "\ufeff{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bom\"}}")
	add("json-deep-nesting", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`)
	add("yaml-deep-nesting", "configmaps", ctYAML, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: "+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+"\n")
	add("empty", "configmaps", ctJSON, ``)
	add("null", "configmaps", ctJSON, `null`)
	add("array", "configmaps", ctJSON, `[]`)
	add("empty-object", "configmaps", ctJSON, `{}`)
	add("number", "pods", ctYAML, `42`)
	add("string", "pods", ctJSON, `"pod"`)
	add("metadata-wrong-type", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":"x"}`)
	add("duplicate-fields", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{"a":"1","a":"2"}}`)
	add("unknown-fields", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"unknown","nmae":"x"},"dta":{"a":"b"}}`)
	add("wrong-apiversion", "configmaps", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}`)
	add("unregistered-kind", "configmaps", ctJSON, `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`)
	add("wrong-kind", "pods", ctJSON, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`)
	add("no-kind", "pods", ctJSON, `{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	add("bad-group-version", "deployments", ctJSON, `{"apiVersion":"apps/v1/extra","kind":"Deployment","metadata":{"name":"x"}}`)
	add("name-not-dns1123", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`)
	add("name-with-slash", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a/b"}}`)
	add("name-dotdot", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":".."},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	add("name-too-long", "services", ctJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"`+strings.Repeat("a", 64)+`"},"spec":{"ports":[{"port":80}]}}`)
	add("name-unicode", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"caf\u00e9-\ud83d\ude00"}}`)
	add("invalid-utf8", "configmaps", ctJSON, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"utf\"},\"data\":{\"k\":\"\xff\xfe\"}}")
	add("namespace-mismatch", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}`)
	add("bad-labels-annotations", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"-bad":"v","k":"`+strings.Repeat("v", 64)+`"},"annotations":{"":"x"},"finalizers":["Bad Finalizer"]}}`)
	add("bad-owner-references", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","ownerReferences":[{"apiVersion":"","kind":"","name":"","uid":""},{"apiVersion":"v1","kind":"Pod","name":"p","uid":"1","controller":true},{"apiVersion":"v1","kind":"Pod","name":"q","uid":"2","controller":true}]}}`)
	add("server-owned-metadata", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"target","uid":"not-the-uid","resourceVersion":"1","generation":99,"creationTimestamp":"1970-01-01T00:00:00Z","deletionTimestamp":"2000-01-01T00:00:00Z","deletionGracePeriodSeconds":-5,"selfLink":"/x","managedFields":[{"manager":"m","operation":"Bogus","fieldsType":"FieldsV9","fieldsV1":{"f:x":{}}}]}}`)
	add("stale-resourceversion", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"target","resourceVersion":"1"},"data":{"stale":"yes"}}`)
	add("resourceversion-not-a-number", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"target","resourceVersion":"abc"}}`)
	add("bad-creation-timestamp", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ts","creationTimestamp":"yesterday"}}`)
	add("negative-replicas", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"neg"},"spec":{"replicas":-1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	add("replicas-overflow", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"big"},"spec":{"replicas":2147483648}}`)
	add("replicas-float", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"f"},"spec":{"replicas":1.5}}`)
	add("replicas-huge-exponent", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"e"},"spec":{"replicas":1e400}}`)
	add("replicas-string", "deployments", ctYAML, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: s}\nspec:\n  replicas: \"3\"\n")
	add("selector-mismatch", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"mis"},"spec":{"selector":{"matchLabels":{"app":"a"},"matchExpressions":[{"key":"x","operator":"Bogus","values":["y"]},{"key":"","operator":"Exists","values":["z"]}]},"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	add("deployment-empty-selector", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"empty"},"spec":{"selector":{},"template":{"spec":{"containers":[]}}}}`)
	add("deployment-bad-strategy", "deployments", ctJSON, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"st"},"spec":{"selector":{"matchLabels":{"a":"b"}},"strategy":{"type":"Recreate","rollingUpdate":{"maxSurge":"150%","maxUnavailable":-3}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	add("pod-bad-spec", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad"},"spec":{"containers":[{"name":"C_1","image":"","ports":[{"containerPort":0},{"containerPort":70000,"protocol":"XTP"}],"resources":{"requests":{"cpu":"-1","memory":"1Zi"}},"env":[{"name":"","valueFrom":{}}]},{"name":"C_1"}],"restartPolicy":"Sometimes","dnsPolicy":"Whatever","volumes":[{"name":"v"},{"name":"v","hostPath":{"path":""}}],"terminationGracePeriodSeconds":-10,"activeDeadlineSeconds":0}}`)
	add("pod-bad-quantity", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1e999999999"},"requests":{"memory":"99999999999999999999999999999Ei"}}}]}}`)
	add("pod-quantity-exponent-number", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"qn"},"spec":{"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":1e-999999999}}}]}}`)
	add("pod-quantity-exponent-yaml", "pods", ctYAML, "apiVersion: v1\nkind: Pod\nmetadata: {name: qy}\nspec:\n  overhead: {memory: \"2E6024865272343\"}\n  containers: [{name: c, image: i}]\n")
	add("quota-kind-with-huge-quantity", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"rq"},"spec":{"hard":{"pods":"1e999999999"}}}`)
	// Found by the fuzzer: without an apiVersion the body decodes as the
	// kind it names in the endpoint's version, not as the endpoint's kind.
	add("yaml-no-apiversion-quantity-of-another-kind", "829", ctYAML, "piVersion: v1\nkind: Pod\nmetadata: {name: qy}\nspec:\n  overhead: {memory: \"2E6024865272343\"}\n  containers: [{name: c, image: i}]")
	add("configmap-data-like-huge-quantity", "configmaps", ctJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"qdata"},"data":{"cpu":"1e-999999999"}}`)
	add("pod-no-containers", "pods", ctYAML, "apiVersion: v1\nkind: Pod\nmetadata: {name: none}\nspec: {}\n")
	add("pod-bad-ips", "pods", ctJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"ips"},"spec":{"containers":[{"name":"c","image":"i"}],"hostAliases":[{"ip":"999.1.1.1","hostnames":["a"]},{"ip":"::ffff:1.2.3.4"}],"dnsConfig":{"nameservers":["not-an-ip"]}}}`)
	add("service-bad", "services", ctJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"bad"},"spec":{"type":"NodePort","clusterIP":"999.1.1.1","ports":[{"port":0,"nodePort":80},{"port":80,"name":"a"},{"port":80,"name":"a"}],"sessionAffinity":"Maybe","externalIPs":["x"]}}`)
	add("service-clusterip-outside-range", "services", ctJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"out"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`)
	add("service-clusterips-dual", "services", ctJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"dual"},"spec":{"ipFamilyPolicy":"RequireDualStack","ipFamilies":["IPv4","IPv6"],"clusterIPs":["10.43.0.50","fd00::1"],"ports":[{"port":80}]}}`)
	add("service-nodeport-taken-range-end", "services", ctJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"np"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":32767},{"port":81,"nodePort":32767}]}}`)
	add("event-bad", "events", ctJSON, `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"bad"},"eventTime":"not-a-time","type":"Sideways","series":{"count":-1}}`)
	add("event-wrong-namespace-regarding", "events", ctJSON, `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"ns"},"eventTime":"2025-01-01T00:00:00.000000Z","reportingController":"c","reportingInstance":"i","action":"A","reason":"R","type":"Normal","regarding":{"kind":"Pod","namespace":"elsewhere","name":"p"}}`)
	add("unknown-content-type", "configmaps", "text/plain", `hello`)
	add("json-charset", "configmaps", "application/json; charset=utf-8", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"charset"}}`)
	add("json-bad-mime", "configmaps", "application/json;;;=", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mime"}}`)
	add("protobuf-watch-stream", "configmaps", "application/vnd.kubernetes.protobuf;stream=watch", `{}`)
	add("cbor", "configmaps", "application/cbor", "\xa2\x64kind\x69ConfigMap")
	add("no-content-type", "configmaps", "", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nocontenttype"}}`)

	// Protobuf: valid objects, then broken envelopes.
	pb := func(obj runtime.Object, gv schema.GroupVersion) []byte {
		s := protobuf.NewSerializer(apiserver.NewScheme(), apiserver.NewScheme())
		kinds, _, err := apiserver.NewScheme().ObjectKinds(obj)
		if err != nil {
			t.Fatal(err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gv.WithKind(kinds[0].Kind))
		var b bytes.Buffer
		if err := s.Encode(obj, &b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	cm := pb(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "proto", Labels: map[string]string{"a": "b"}}, Data: map[string]string{"k": "v"}}, corev1.SchemeGroupVersion)
	pod := pb(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "proto"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "nginx", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}},
	}}}}, corev1.SchemeGroupVersion)
	labels := map[string]string{"app": "proto"}
	deploy := pb(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "proto"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}},
	}}, appsv1.SchemeGroupVersion)
	svc := pb(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "proto"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}, corev1.SchemeGroupVersion)
	add("configmap-protobuf", "configmaps", ctProtobuf, string(cm))
	add("pod-protobuf", "pods", ctProtobuf, string(pod))
	add("deployment-protobuf", "deployments", ctProtobuf, string(deploy))
	add("service-protobuf", "services", ctProtobuf, string(svc))
	add("protobuf-wrong-kind", "pods", ctProtobuf, string(cm))
	add("protobuf-truncated", "pods", ctProtobuf, string(pod[:len(pod)/2]))
	add("protobuf-magic-only", "configmaps", ctProtobuf, "k8s\x00")
	add("protobuf-no-magic", "configmaps", ctProtobuf, string(cm[4:]))
	add("protobuf-garbage", "deployments", ctProtobuf, "k8s\x00\x0a\xff\xff\xff\xff\x0f\x12\x00")
	add("protobuf-huge-length", "configmaps", ctProtobuf, "k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Config\x12\xff\xff\xff\xff\x07")
	// A quantity the resource package cannot parse in bounded time,
	// which the protobuf encoder cannot make (it needs a parsed one).
	add("protobuf-quantity-huge-exponent", "pods", ctProtobuf, string(protobufPodWithOverhead("1e-999999999")))
	add("protobuf-quantity-in-list", "deployments", ctProtobuf, string(protobufPodWithOverhead("2E6024865272343")))
	add("json-as-protobuf", "configmaps", ctProtobuf, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`)
	add("protobuf-as-json", "configmaps", ctJSON, string(cm))
	return seeds
}

func querySeeds() []seed {
	type q struct {
		name, resource, verb, labelSelector, fieldSelector, resourceVersion, limit, continueToken, timeoutSeconds, fieldValidation, dryRun string
	}
	token := func(rv int, start string) string {
		return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"v":"meta.k8s.io/v1","rv":%d,"start":%q}`, rv, start))
	}
	qs := []q{
		{"list", "configmaps", "list", "", "", "", "", "", "", "", ""},
		{"list-all-namespaces", "pods", "list-all", "", "", "", "", "", "", "", ""},
		{"list-label-equals", "configmaps", "list", "fuzz=yes", "", "", "", "", "", "", ""},
		{"list-label-set", "pods", "list", "app in (web,api),tier notin (db),!legacy,fuzz", "", "", "", "", "", "", ""},
		{"list-label-invalid", "configmaps", "list", "a in (b", "", "", "", "", "", "", ""},
		{"list-label-bad-operator", "deployments", "list", "a===b", "", "", "", "", "", "", ""},
		{"list-label-value-too-long", "services", "list", "a=" + strings.Repeat("v", 64), "", "", "", "", "", "", ""},
		{"list-label-gt", "pods", "list", "n>5,m<x", "", "", "", "", "", "", ""},
		{"list-field-name", "configmaps", "list", "", "metadata.name=sentinel", "", "", "", "", "", ""},
		{"list-field-pod-phase", "pods", "list-all", "", "status.phase!=Running,spec.nodeName=", "", "", "", "", "", ""},
		{"list-field-unsupported", "deployments", "list", "", "spec.replicas=1", "", "", "", "", "", ""},
		{"list-field-invalid", "services", "list", "", "metadata.name==a==b", "", "", "", "", "", ""},
		{"list-field-escaped", "configmaps", "list", "", `metadata.name=a\,b\=c`, "", "", "", "", "", ""},
		{"list-field-event", "events", "list", "", "metadata.namespace=fuzz", "", "", "", "", "", ""},
		{"list-rv-0", "configmaps", "list", "", "", "0", "", "", "", "", ""},
		{"list-rv-1", "pods", "list", "", "", "1", "", "", "", "", ""},
		{"list-rv-not-a-number", "configmaps", "list", "", "", "abc", "", "", "", "", ""},
		{"list-rv-negative", "configmaps", "list", "", "", "-1", "", "", "", "", ""},
		{"list-rv-future", "deployments", "list", "", "", "99999999", "", "", "", "", ""},
		{"list-limit-1", "configmaps", "list", "", "", "", "1", "", "", "", ""},
		{"list-limit-0", "pods", "list", "", "", "", "0", "", "", "", ""},
		{"list-limit-negative", "configmaps", "list", "", "", "", "-1", "", "", "", ""},
		{"list-limit-not-a-number", "services", "list", "", "", "", "ten", "", "", "", ""},
		{"list-limit-overflow", "configmaps", "list", "", "", "", "99999999999999999999", "", "", "", ""},
		{"list-limit-rv-0", "configmaps", "list", "", "", "0", "1", "", "", "", ""},
		{"list-continue-garbage", "configmaps", "list", "", "", "", "1", "xyz", "", "", ""},
		{"list-continue-valid", "configmaps", "list", "", "", "", "1", token(2, "fuzz/"), "", "", ""},
		{"list-continue-future", "pods", "list", "", "", "", "1", token(99999999, "fuzz/"), "", "", ""},
		{"list-continue-zero-rv", "configmaps", "list", "", "", "", "", token(0, "fuzz/"), "", "", ""},
		{"list-continue-escape", "configmaps", "list", "", "", "", "", token(2, "../secrets/"), "", "", ""},
		{"list-continue-other-version", "configmaps", "list", "", "", "", "", base64.RawURLEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v2","rv":2,"start":"a"}`)), "", "", ""},
		{"list-continue-with-rv", "configmaps", "list", "", "", "5", "1", token(2, "fuzz/"), "", "", ""},
		{"list-continue-and-selector", "configmaps", "list", "fuzz=yes", "metadata.name!=x", "", "1", token(3, "fuzz/a"), "", "", ""},
		{"watch", "configmaps", "watch", "", "", "", "", "", "", "", ""},
		{"watch-all-namespaces", "pods", "watch-all", "fuzz=yes", "", "", "", "", "", "", ""},
		{"watch-rv-0", "configmaps", "watch", "", "", "0", "", "", "", "", ""},
		{"watch-rv-1", "deployments", "watch", "", "", "1", "", "", "", "", ""},
		{"watch-rv-future", "services", "watch", "", "", "99999999", "", "", "", "", ""},
		{"watch-rv-garbage", "configmaps", "watch", "", "", "x1", "", "", "", "", ""},
		{"watch-timeout", "configmaps", "watch", "", "", "", "", "", "1", "", ""},
		{"watch-timeout-negative", "events", "watch", "", "", "", "", "", "-5", "", ""},
		{"watch-timeout-overflow", "pods", "watch", "", "", "", "", "", "99999999999999", "", ""},
		{"watch-timeout-garbage", "configmaps", "watch", "", "", "", "", "", "soon", "", ""},
		{"watch-bad-selector", "pods", "watch", "a in (", "spec.nodeName=n", "", "", "", "", "", ""},
		{"get", "configmaps", "get", "", "", "", "", "", "", "", ""},
		{"get-rv-0", "pods", "get", "", "", "0", "", "", "", "", ""},
		{"get-rv-garbage", "deployments", "get", "", "", "old", "", "", "", "", ""},
		{"get-rv-future", "events", "get", "", "", "99999999", "", "", "", "", ""},
		{"delete", "configmaps", "delete", "", "", "", "", "", "", "", ""},
		{"delete-dry-run", "pods", "delete", "", "", "", "", "", "", "", "All"},
		{"delete-dry-run-bad", "deployments", "delete", "", "", "", "", "", "", "", "Some"},
		{"deletecollection", "configmaps", "deletecollection", "", "", "", "", "", "", "", ""},
		{"deletecollection-selector", "pods", "deletecollection", "fuzz=yes", "metadata.name=sentinel", "", "", "", "", "", ""},
		{"deletecollection-bad-selector", "services", "deletecollection", "a in (", "", "", "", "", "", "", ""},
		{"create-strict", "configmaps", "create", "", "", "", "", "", "", "Strict", ""},
		{"create-ignore", "deployments", "create", "", "", "", "", "", "", "Ignore", ""},
		{"create-bad-validation", "configmaps", "create", "", "", "", "", "", "", "Maybe", ""},
		{"create-dry-run", "services", "create", "", "", "", "", "", "", "", "All"},
		{"create-dry-run-lowercase", "pods", "create", "", "", "", "", "", "", "", "all"},
		{"update-warn", "configmaps", "update", "", "", "", "", "", "", "Warn", ""},
		{"update-dry-run", "deployments", "update", "", "", "", "", "", "", "Strict", "All"},
		{"update-bad-dry-run", "events", "update", "", "", "", "", "", "", "", "None"},
		{"patch", "services", "patch", "", "", "", "", "", "", "", ""},
		{"patch-dry-run", "pods", "patch", "", "", "", "", "", "", "Strict", "All"},
		{"patch-bad-validation", "configmaps", "patch", "", "", "", "", "", "", "strict", ""},
	}
	var seeds []seed
	for _, s := range qs {
		seeds = append(seeds, seed{s.name, []any{s.resource, s.verb, s.labelSelector, s.fieldSelector, s.resourceVersion, s.limit, s.continueToken, s.timeoutSeconds, s.fieldValidation, s.dryRun}})
	}
	return seeds
}

// protobufPodWithOverhead is a pod's protobuf body whose spec.overhead
// has a cpu quantity of the given text, assembled field by field.
func protobufPodWithOverhead(quantity string) []byte {
	msg := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	q := bytesField(1, []byte(quantity))
	entry := msg(bytesField(1, []byte("cpu")), bytesField(2, q))
	container := msg(bytesField(1, []byte("c")), bytesField(2, []byte("i")))
	spec := msg(bytesField(2, container), bytesField(32, entry))
	meta := bytesField(1, []byte("proto-q"))
	pod := msg(bytesField(1, meta), bytesField(2, spec))
	typeMeta := msg(bytesField(1, []byte("v1")), bytesField(2, []byte("Pod")))
	return append([]byte("k8s\x00"), msg(bytesField(1, typeMeta), bytesField(2, pod))...)
}
