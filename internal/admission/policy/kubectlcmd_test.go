package policy_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

func kubectlCmd(t *testing.T, s *clustertest.Server, args ...string) *exec.Cmd {
	cmd := exec.Command(clustertest.Binary(t), append([]string{"kubectl", "--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+s.DataDir)
	return cmd
}
