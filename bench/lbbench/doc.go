// Package lbbench measures the cloud controller manager's load
// balancers at scale, as issue 12 asks: a real `kemudi server` (its own
// cloud controller off), `kemudi cloud-controller-manager` alone with
// the local provider's address pool (so that its CPU is its own), and
// `kemudi proxy` alone in a network namespace the benchmark makes, where
// one backend answers on 10.200.0.1:8080 for every service.
//
// 1,000 LoadBalancer services (KEMUDI_BENCH_LB_SERVICES) are created at
// once by 16 clients, each with an EndpointSlice naming the backend.
//
// Definitions:
//   - create->ingress: from a create returning to the watch event that
//     shows the service's status.loadBalancer.ingress address.
//   - last create->all addressed: from the last create returning to the
//     last address seen; the target is 5 s.
//   - traffic: from inside the namespace, an HTTP request to every
//     EXTERNAL-IP:80, through the proxy's rules to the backend; "all
//     flowing" is from the last address seen to the last service that
//     answered.
//   - cloud controller CPU: the cloud-controller-manager process's CPU
//     from the first create to the last address.
package lbbench
