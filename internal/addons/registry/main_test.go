package registry_test

import (
	"os"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestMain(m *testing.M) {
	// distribution logs every request through logrus, and every 404 as an
	// error; the tests say what went wrong themselves.
	logrus.SetLevel(logrus.FatalLevel)
	os.Exit(m.Run())
}
