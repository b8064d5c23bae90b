// Package apf is the decision core of API Priority and Fairness: it
// classifies a request into the first FlowSchema that matches it, as
// upstream's kube-apiserver does, and says what status the server's
// schemas should carry and what concurrency each priority level gets.
// It does no I/O; the API server feeds it the objects it watches and
// asks it about each request. Queuing and limiting are not done.
package apf
