// Package certificates holds upstream's certificate controllers:
// csrapproving (approves node client CSRs whose requester the
// nodeclient/selfnodeclient subresources allow), csrsigning (issues the
// certificates of approved CSRs for the kubernetes.io signers with the
// cluster CA) and csrcleaner (removes old CSRs).
package certificates
