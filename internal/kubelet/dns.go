package kubelet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's limits on a pod's resolv.conf (validation.MaxDNSNameservers,
// MaxDNSSearchPaths, MaxDNSSearchListChars) and the longest search
// domain glibc copes with.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	maxSearchDomainLen    = 253
	maxResolvConfBytes    = 10 << 20
)

// DefaultResolvConf is the host's resolver file pods with dnsPolicy
// Default get (upstream's --resolv-conf default).
const DefaultResolvConf = "/etc/resolv.conf"

// systemdResolvConf is systemd-resolved's list of the real upstream
// servers, beside its 127.0.0.53 stub in /etc/resolv.conf.
const systemdResolvConf = "/run/systemd/resolve/resolv.conf"

// resolvConf is what a resolv.conf says.
type resolvConf struct {
	Servers, Searches, Options []string
}

// parseResolvConf reads a resolv.conf as upstream's kubelet: nameservers
// add up, the last search line wins (trailing dots dropped, so a domain
// counts once), options merge by name with the later one winning.
func parseResolvConf(r io.Reader) (resolvConf, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxResolvConfBytes+1))
	if err != nil {
		return resolvConf{}, err
	}
	if len(b) > maxResolvConfBytes {
		return resolvConf{}, fmt.Errorf("longer than %d bytes", maxResolvConfBytes)
	}
	var rc resolvConf
	var errs []error
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				errs = append(errs, errors.New("nameserver list is empty"))
				continue
			}
			rc.Servers = append(rc.Servers, f[1])
		case "search":
			rc.Searches = nil
			for _, s := range f[1:] {
				if s != "." {
					rc.Searches = append(rc.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			rc.Options = mergeOptions(rc.Options, f[1:])
		}
	}
	return rc, errors.Join(errs...)
}

// mergeOptions adds options to base; one of the same name replaces it.
func mergeOptions(base, add []string) []string {
	out := slices.Clone(base)
	for _, o := range add {
		name, _, _ := strings.Cut(o, ":")
		i := slices.IndexFunc(out, func(x string) bool { n, _, _ := strings.Cut(x, ":"); return n == name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// hostResolvConf picks the host's resolver file: path, unless all its
// nameservers are loopback (systemd-resolved's stub, useless inside a
// pod's network namespace) and systemd-resolved's own list has real
// ones, which is then used instead, as k3s does.
func hostResolvConf(path string) string {
	if path != DefaultResolvConf {
		return path
	}
	if !onlyLoopback(path) {
		return path
	}
	if _, err := os.Stat(systemdResolvConf); err == nil && !onlyLoopback(systemdResolvConf) {
		return systemdResolvConf
	}
	return path
}

func onlyLoopback(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	rc, _ := parseResolvConf(f)
	for _, s := range rc.Servers {
		if a, err := netip.ParseAddr(s); err != nil || !a.IsLoopback() {
			return false
		}
	}
	return len(rc.Servers) > 0
}

// resolvConfPath is the host's resolver file the kubelet reads.
func (k *Kubelet) resolvConfPath() string { return k.opts.ResolvConf }

// readHostDNS reads the host's resolver file ("" means none: pods with
// dnsPolicy Default then resolve nothing, as upstream's kubelet with
// --resolv-conf="").
func readHostDNS(path string) (resolvConf, error) {
	if path == "" {
		return resolvConf{}, nil
	}
	f, err := os.Open(hostResolvConf(path))
	if err != nil {
		return resolvConf{}, err
	}
	defer f.Close()
	return parseResolvConf(f)
}

// dnsInput is what a pod's DNS settings are made from.
type dnsInput struct {
	Host          resolvConf
	NoHostFile    bool // --resolv-conf "": Default pods get the loopback
	ClusterDNS    []string
	ClusterDomain string
	NodeIPv6Only  bool
}

// podDNS is a pod's resolver settings by its dnsPolicy, as upstream's
// kubelet: ClusterFirst pods ask the cluster DNS with the cluster's
// search path followed by the host's, and ndots:5; Default pods get the
// host's file; None only the pod's dnsConfig, which the others append.
// Nameservers and search domains are cut to upstream's limits; each cut
// comes back as a warning for the pod's events. It does no I/O.
func podDNS(pod *corev1.Pod, in dnsInput) (*runtimeapi.DNSConfig, []string) {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	if policy == corev1.DNSClusterFirstWithHostNet {
		policy = corev1.DNSClusterFirst
	}
	var warnings []string
	cfg := &runtimeapi.DNSConfig{Servers: slices.Clone(in.Host.Servers), Searches: slices.Clone(in.Host.Searches), Options: slices.Clone(in.Host.Options)}
	if policy == corev1.DNSClusterFirst && len(in.ClusterDNS) == 0 {
		warnings = append(warnings, "MissingClusterDNS: kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy.")
		policy = corev1.DNSDefault
	}
	switch policy {
	case corev1.DNSClusterFirst:
		cfg.Servers = slices.Clone(in.ClusterDNS)
		if d := in.ClusterDomain; d != "" {
			cluster := []string{pod.Namespace + ".svc." + d, "svc." + d, d}
			cfg.Searches = omitDuplicates(append(cluster, in.Host.Searches...))
		}
		cfg.Options = []string{"ndots:5"}
	case corev1.DNSDefault:
		if in.NoHostFile {
			lo := "127.0.0.1"
			if in.NodeIPv6Only {
				lo = "::1"
			}
			cfg = &runtimeapi.DNSConfig{Servers: []string{lo}, Searches: []string{"."}}
		}
	case corev1.DNSNone:
		cfg = &runtimeapi.DNSConfig{}
	}
	if c := pod.Spec.DNSConfig; c != nil {
		cfg.Servers = omitDuplicates(append(cfg.Servers, c.Nameservers...))
		cfg.Searches = omitDuplicates(append(cfg.Searches, c.Searches...))
		var opts []string
		for _, o := range c.Options {
			if o.Value != nil {
				opts = append(opts, o.Name+":"+*o.Value)
			} else {
				opts = append(opts, o.Name)
			}
		}
		cfg.Options = mergeOptions(cfg.Options, opts)
	}
	if len(cfg.Servers) > maxDNSNameservers {
		cfg.Servers = cfg.Servers[:maxDNSNameservers]
		warnings = append(warnings, "DNSConfigForming: Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+strings.Join(cfg.Servers, " "))
	}
	var cut bool
	if cfg.Searches, cut = fitSearches(cfg.Searches); cut {
		warnings = append(warnings, "DNSConfigForming: Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "+strings.Join(cfg.Searches, " "))
	}
	return cfg, warnings
}

// fitSearches cuts a search path to upstream's limits: 32 domains, none
// longer than 253 characters, 2048 characters on the line (domains
// dropped from the end).
func fitSearches(s []string) ([]string, bool) {
	cut := false
	if len(s) > maxDNSSearchPaths {
		s, cut = s[:maxDNSSearchPaths], true
	}
	out := make([]string, 0, len(s))
	for _, d := range s {
		if len(d) > maxSearchDomainLen {
			cut = true
			continue
		}
		out = append(out, d)
	}
	for len(out) > 0 && len(strings.Join(out, " ")) > maxDNSSearchListChars {
		out, cut = out[:len(out)-1], true
	}
	if len(out) == 0 && len(s) == 0 {
		return s, cut
	}
	return out, cut
}

func omitDuplicates(s []string) []string {
	seen := map[string]bool{}
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// ipv6Only says whether the node has addresses and all are IPv6.
func ipv6Only(ips []net.IP) bool {
	for _, ip := range ips {
		if ip.To4() != nil {
			return false
		}
	}
	return len(ips) > 0
}
