package cluster

import (
	"fmt"
	"os"
	"strings"
)

// DefaultNodeName is name, or when empty the kubelet's own default: the
// host name in lower case.
func DefaultNodeName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("node name: %w", err)
	}
	return strings.ToLower(host), nil
}
