package e2e

import (
	"reflect"
	"testing"
)

func TestTableRows(t *testing.T) {
	tests := []struct {
		name, out string
		want      []map[string]string
	}{
		{"events, message with spaces",
			"LAST SEEN   TYPE     REASON      OBJECT                     MESSAGE\n" +
				"5s          Normal   Pulling     pod/python-flask-abc-xyz   Pulling image \"127.0.0.1:5000/alifah/python-flask:1\"\n",
			[]map[string]string{{"LAST SEEN": "5s", "TYPE": "Normal", "REASON": "Pulling", "OBJECT": "pod/python-flask-abc-xyz", "MESSAGE": `Pulling image "127.0.0.1:5000/alifah/python-flask:1"`}}},
		{"services",
			"NAME           TYPE           CLUSTER-IP     EXTERNAL-IP   PORT(S)          AGE\n" +
				"kubernetes     ClusterIP      10.43.0.1      <none>        443/TCP          2m\n" +
				"python-flask   LoadBalancer   10.43.91.17    10.99.0.1     5000:30175/TCP   3s\n",
			[]map[string]string{
				{"NAME": "kubernetes", "TYPE": "ClusterIP", "CLUSTER-IP": "10.43.0.1", "EXTERNAL-IP": "<none>", "PORT(S)": "443/TCP", "AGE": "2m"},
				{"NAME": "python-flask", "TYPE": "LoadBalancer", "CLUSTER-IP": "10.43.91.17", "EXTERNAL-IP": "10.99.0.1", "PORT(S)": "5000:30175/TCP", "AGE": "3s"},
			}},
		{"no rows", "No resources found in default namespace.\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tableRows(tt.out); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tableRows:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
