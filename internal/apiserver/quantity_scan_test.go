package apiserver

import (
	"regexp"
	"testing"
)

// TestMayHaveHugeExponent holds the scanner to the regular expression it
// stands for.
func TestMayHaveHugeExponent(t *testing.T) {
	re := regexp.MustCompile(`[0-9.][eE][+-]?[0-9]{4,}`)
	for _, in := range []string{
		"", "e", "1e", "1e999", "1e1000", "1E+1000", "1e-1000", ".e1234", "xe1234", "1e+-1234",
		`{"cpu":"1e1000"}`, "ee1234", "1ee1234", "1e12a34", "1e123", "abc1e0001", "1e", "9E",
		"\x00\x01\x02e1111", "1.5e+99999",
	} {
		if got, want := mayHaveHugeExponent([]byte(in)), re.MatchString(in); got != want {
			t.Errorf("%q: %v, the regular expression says %v", in, got, want)
		}
	}
}

func FuzzMayHaveHugeExponent(f *testing.F) {
	re := regexp.MustCompile(`[0-9.][eE][+-]?[0-9]{4,}`)
	for _, s := range []string{"1e1000", "1E+1000", ".e-0000", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, want := mayHaveHugeExponent([]byte(in)), re.MatchString(in); got != want {
			t.Errorf("%q: %v, the regular expression says %v", in, got, want)
		}
	})
}
