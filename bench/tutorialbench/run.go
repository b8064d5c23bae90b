package tutorialbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The tutorial's image, user and page.
const (
	Image    = "127.0.0.1:5000/alifah/python-flask:1"
	BaseRef  = "python:3.11-slim"
	user     = "alifah"
	password = "kata-sandi-alifah-123"
	page     = "Hello World!"
)

// Tutorial is one run of the tutorial from `kemudi image build` to the
// page answering through the load balancer, by phase.
type Tutorial struct {
	Build, Push, Deploy, Total time.Duration
}

// Result is what Run measured.
type Result struct {
	Uncached, Cached Tutorial
	// Cold: `kubectl create deployment` to the first 200 through the load
	// balancer, the image in the registry but not on the node; Warm: the
	// image on the node.
	Cold, Warm []time.Duration
	// ColdSteps, WarmSteps: the same rounds, step by step.
	ColdSteps, WarmSteps []Timeline
	ImageMiB             float64
	// NodeImages is `kemudi image ls` after the first cold round removed
	// every image (the build cache's too): the node holds nothing to pull.
	NodeImages string
}

// Run does the tutorial on n twice (first build, then the same build
// again, cached), then times create deployment → first answer `rounds`
// times with every image removed from the node (also the build cache's
// untagged step images, which hold the same layers) and `rounds` times
// with the image present. contextDir is the seed's alifah-Flask folder; base the Python
// base image's archive.
func Run(ctx context.Context, n *Node, contextDir, base string, rounds int) (Result, error) {
	var r Result
	if err := copyDir(contextDir, filepath.Join(n.Work, "alifah-Flask")); err != nil {
		return r, err
	}
	steps := [][]string{
		{"image", "import", base},
		{"registry", "user", "add", user, "--password-stdin"},
		{"image", "login", "127.0.0.1:5000", "-u", user, "--password-stdin"},
	}
	for _, s := range steps {
		if _, err := n.Kemudi(ctx, password+"\n", s...); err != nil {
			return r, err
		}
	}
	var err error
	if r.Uncached, err = tutorial(ctx, n); err != nil {
		return r, fmt.Errorf("uncached: %w", err)
	}
	if err := undeploy(ctx, n, true); err != nil {
		return r, err
	}
	if r.Cached, err = tutorial(ctx, n); err != nil {
		return r, fmt.Errorf("cached: %w", err)
	}
	lb, err := lbAddress(ctx, n)
	if err != nil {
		return r, err
	}
	for i := 0; i < rounds; i++ {
		for _, cold := range []bool{true, false} {
			if err := undeploy(ctx, n, false); err != nil {
				return r, err
			}
			if cold {
				if err := n.RemoveAllImages(ctx); err != nil {
					return r, err
				}
				if r.NodeImages == "" {
					r.NodeImages, _ = n.Kemudi(ctx, "", "image", "ls")
				}
			}
			wait := func() error { return nil }
			if cold {
				wait = n.startProfile(ctx, fmt.Sprintf("cold-%d", i+1))
			}
			start := time.Now()
			w, err := n.watchTimeline(ctx, start)
			if err != nil {
				return r, err
			}
			if _, err := n.Kubectl(ctx, "create", "deployment", "python-flask", "--image="+Image); err != nil {
				return r, err
			}
			kubectlDone := time.Since(start)
			if err := waitPage(ctx, n, "http://"+lb+":5000/", 3*time.Minute); err != nil {
				return r, err
			}
			d := time.Since(start)
			steps := w.Stop(ctx, n, kubectlDone, d)
			if err := wait(); err != nil {
				return r, err
			}
			if cold {
				r.Cold, r.ColdSteps = append(r.Cold, d), append(r.ColdSteps, steps)
			} else {
				r.Warm, r.WarmSteps = append(r.Warm, d), append(r.WarmSteps, steps)
			}
		}
	}
	out, err := n.Kemudi(ctx, "", "image", "ls")
	if err == nil {
		r.ImageMiB = imageMiB(out, Image)
	}
	return r, nil
}

// tutorial is the seed's steps from build to the page, back to back.
func tutorial(ctx context.Context, n *Node) (Tutorial, error) {
	var t Tutorial
	start := time.Now()
	if _, err := n.Kemudi(ctx, "", "image", "build", "-t", Image, "alifah-Flask/"); err != nil {
		return t, err
	}
	t.Build = time.Since(start)
	if _, err := n.Kemudi(ctx, "", "image", "push", Image); err != nil {
		return t, err
	}
	t.Push = time.Since(start) - t.Build
	deploy := time.Now()
	for _, args := range [][]string{
		{"create", "deployment", "python-flask", "--image=" + Image},
		{"expose", "deployment", "python-flask", "--type=LoadBalancer", "--port=5000"},
	} {
		if _, err := n.Kubectl(ctx, args...); err != nil {
			return t, err
		}
	}
	var lb string
	deadline := time.Now().Add(time.Minute)
	for {
		var err error
		if lb, err = lbAddress(ctx, n); err == nil && lb != "" {
			break
		}
		if time.Now().After(deadline) {
			return t, fmt.Errorf("no EXTERNAL-IP within a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := waitPage(ctx, n, "http://"+lb+":5000/", 3*time.Minute); err != nil {
		return t, err
	}
	t.Deploy = time.Since(deploy)
	t.Total = time.Since(start)
	return t, nil
}

func lbAddress(ctx context.Context, n *Node) (string, error) {
	out, err := n.Kubectl(ctx, "get", "svc", "python-flask", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
	return strings.TrimSpace(out), err
}

// waitPage polls url (every 20 ms) until it answers the app's page.
func waitPage(ctx context.Context, n *Node, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		body, err := n.Get(url)
		if err == nil && strings.TrimSpace(body) == page {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %q within %s: %v %q\n%s", url, page, timeout, err, body, n.Tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// undeploy deletes the deployment (and with svc, the service) and waits
// until its pods are gone.
func undeploy(ctx context.Context, n *Node, svc bool) error {
	if _, err := n.Kubectl(ctx, "delete", "deployment", "python-flask", "--ignore-not-found"); err != nil {
		return err
	}
	// The app (python as PID 1) ignores SIGTERM: with the default grace
	// period each round would wait 30 s for the kill.
	if _, err := n.Kubectl(ctx, "delete", "pod", "-l", "app=python-flask", "--grace-period=1", "--ignore-not-found", "--wait=false"); err != nil {
		return err
	}
	if svc {
		if _, err := n.Kubectl(ctx, "delete", "service", "python-flask", "--ignore-not-found"); err != nil {
			return err
		}
	}
	_, err := n.Kubectl(ctx, "wait", "--for=delete", "pod", "-l", "app=python-flask", "--timeout=180s")
	return err
}

// imageMiB reads ref's size from `kemudi image ls` (REF ID SIZE).
func imageMiB(out, ref string) float64 {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == ref {
			var v float64
			var unit string
			if _, err := fmt.Sscanf(f[len(f)-1], "%f%s", &v, &unit); err == nil {
				switch unit {
				case "GB", "GiB":
					return v * 1024
				case "MB", "MiB":
					return v
				case "kB", "KiB":
					return v / 1024
				}
			}
		}
	}
	return 0
}

func copyDir(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// median of ds (0 if none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
