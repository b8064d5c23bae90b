package bootstrap

import "testing"

// The vectors are upstream's (k8s.io/cluster-bootstrap/token/jws): a
// signature kemudi writes must be the one kubeadm join recomputes.
func TestDetachedSignatureMatchesUpstream(t *testing.T) {
	const content = "Hello from the other side. I must have called a thousand times."
	tests := []struct {
		name, content, secret, want string
	}{
		{"content", content, "my voice is my passcode", "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"},
		{"empty content", "", "my voice is my passcode", "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk"},
		{"empty secret", content, "", "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := Token{ID: "joshua", Secret: tt.secret}
			if got := DetachedSignature(tt.content, tok); got != tt.want {
				t.Errorf("DetachedSignature = %s, want %s", got, tt.want)
			}
			if !VerifyDetached(tt.want, tt.content, tok) {
				t.Error("upstream's signature does not verify")
			}
		})
	}
}

func TestVerifyDetachedRefuses(t *testing.T) {
	tok := Token{ID: "abcdef", Secret: "0123456789abcdef"}
	sig := DetachedSignature("kubeconfig", tok)
	tests := []struct {
		name, sig, content string
		tok                Token
	}{
		{"other content", sig, "kubeconfig!", tok},
		{"other secret", sig, "kubeconfig", Token{ID: tok.ID, Secret: "fedcba9876543210"}},
		{"other id", sig, "kubeconfig", Token{ID: "abcdeg", Secret: tok.Secret}},
		{"truncated", sig[:len(sig)-1], "kubeconfig", tok},
		{"empty", "", "kubeconfig", tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifyDetached(tt.sig, tt.content, tt.tok) {
				t.Error("verified")
			}
		})
	}
}
