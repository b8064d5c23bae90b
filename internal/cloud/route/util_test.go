package route

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"
)

func typesNode(s string) types.NodeName { return types.NodeName(s) }

func fmtList(s []string) string { return fmt.Sprint(s) }
