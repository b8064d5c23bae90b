package tokencleaner

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/controller"
)

func TestDeletesExpiredTokens(t *testing.T) {
	past, soon := time.Now().Add(-time.Minute), time.Now().Add(300*time.Millisecond)
	expired := bootstrap.SecretFor(bootstrap.Token{ID: "aaaaaa", Secret: "0123456789abcdef"}, bootstrap.SecretOptions{Expires: &past})
	expiring := bootstrap.SecretFor(bootstrap.Token{ID: "bbbbbb", Secret: "0123456789abcdef"}, bootstrap.SecretOptions{Expires: &soon})
	forever := bootstrap.SecretFor(bootstrap.Token{ID: "cccccc", Secret: "0123456789abcdef"}, bootstrap.SecretOptions{})
	// An expired-looking secret of another type is not a token.
	opaque := expired.DeepCopy()
	opaque.Name, opaque.Type = "bootstrap-token-dddddd", corev1.SecretTypeOpaque
	client := fake.NewClientset(expired, expiring, forever, opaque)
	c := controller.NewContext(client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tc, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.Informers.Start(ctx.Done())
	c.Informers.WaitForCacheSync(ctx.Done())
	go tc.Run(ctx)

	gone := func(name string) func(context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			_, err := client.CoreV1().Secrets("kube-system").Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}
	}
	for _, name := range []string{expired.Name, expiring.Name} {
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, gone(name)); err != nil {
			t.Fatalf("%s not deleted: %v", name, err)
		}
	}
	for _, name := range []string{forever.Name, opaque.Name} {
		if _, err := client.CoreV1().Secrets("kube-system").Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
