package certificatesigningrequest

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION,
// as upstream does.
func table() *registry.Table {
	doc := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			printers.AgeColumn,
			{Name: "SignerName", Type: "string", Description: doc["signerName"]},
			{Name: "Requestor", Type: "string", Description: "Name of requestor"},
			{Name: "RequestedDuration", Type: "string", Description: doc["expirationSeconds"]},
			{Name: "Condition", Type: "string", Description: "Condition of the request"},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			csr := obj.(*certificatesv1.CertificateSigningRequest)
			requested := "<none>"
			if s := csr.Spec.ExpirationSeconds; s != nil {
				requested = duration.HumanDuration(time.Duration(*s) * time.Second)
			}
			return []interface{}{csr.Name, printers.Age(csr.CreationTimestamp), csr.Spec.SignerName, csr.Spec.Username, requested, Condition(csr)}, nil
		},
	}
}

// Condition is the CONDITION cell: Pending, Approved or Denied, then
// ",Failed" and ",Issued" when they apply.
func Condition(csr *certificatesv1.CertificateSigningRequest) string {
	s := "Pending"
	switch {
	case IsDenied(csr):
		s = "Denied"
	case IsApproved(csr):
		s = "Approved"
	}
	if HasFailed(csr) {
		s += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		s += ",Issued"
	}
	return s
}
