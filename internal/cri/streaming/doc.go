// Package streaming is the CRI streaming server: the HTTP server whose
// URLs the runtime's Exec, Attach and PortForward answer with, and which
// kubectl (through the kubelet and API server) and crictl then connect to.
//
// Each CRI call stores its request under a random one-time token (valid a
// minute) and returns http://ADDR/{exec,attach,portforward}/TOKEN. The
// server speaks:
//
//   - remotecommand over SPDY/3.1 (X-Stream-Protocol-Version
//     v4.channel.k8s.io, v3, v2 and channel.k8s.io): one stream per stdio
//     channel plus error (v4: a JSON metav1.Status, with the exit code as
//     an ExitCode cause) and resize (JSON TerminalSize objects);
//   - remotecommand over WebSocket (Sec-WebSocket-Protocol
//     v5.channel.k8s.io with its stream-close signal, v4, and the older
//     channel.k8s.io, base64.channel.k8s.io): channels 0-4 are stdin,
//     stdout, stderr, error, resize;
//   - port-forward over SPDY (portforward.k8s.io): a data and an error
//     stream per connection, paired by requestID, each naming its port;
//   - port-forward over WebSocket (v4.channel.k8s.io): a data and an
//     error channel per port of the request (or of the URL's port
//     parameters), each beginning with the port (uint16, little-endian),
//     one connection per port.
//
// What runs behind a stream is the Runtime's: the CRI layer execs through
// the node's supervisor and dials ports inside the sandbox's network
// namespace.
package streaming
