package deploybench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// requestCounts reads the API server's apiserver_request_total, summed
// by verb and resource ("update pods/status").
func requestCounts(ctx context.Context, c kubernetes.Interface) (map[string]float64, error) {
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndex(line, "}")
		if end < 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len("apiserver_request_total{"):end], ",") {
			k, val, ok := strings.Cut(kv, "=")
			if ok {
				labels[k] = strings.Trim(val, `"`)
			}
		}
		key := labels["verb"] + " " + labels["resource"]
		if s := labels["subresource"]; s != "" {
			key += "/" + s
		}
		out[key] += v
	}
	return out, sc.Err()
}

// Requests are the writes a phase made, by verb and resource.
type Requests map[string]float64

// diff returns the writes (create, update, patch, delete) between two
// counts.
func diff(before, after map[string]float64) Requests {
	out := Requests{}
	for k, v := range after {
		verb, _, _ := strings.Cut(k, " ")
		switch verb {
		case "create", "update", "patch", "delete", "deletecollection":
			if d := v - before[k]; d > 0 {
				out[k] = d
			}
		}
	}
	return out
}

// String lists the writes, most first.
func (r Requests) String() string {
	keys := make([]string, 0, len(r))
	total := 0.0
	for k, v := range r {
		keys = append(keys, k)
		total += v
	}
	sort.Slice(keys, func(i, j int) bool { return r[keys[i]] > r[keys[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "%.0f writes:", total)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %.0f,", k, r[k])
	}
	return strings.TrimSuffix(b.String(), ",")
}
