package harness

import "testing"

func TestEnvInts(t *testing.T) {
	t.Setenv("KEMUDI_TEST_SET", "42")
	t.Setenv("KEMUDI_TEST_EMPTY", "")
	set, unset := 0, 7
	if err := EnvInts(map[string]*int{"KEMUDI_TEST_SET": &set, "KEMUDI_TEST_EMPTY": &unset}); err != nil {
		t.Fatal(err)
	}
	if set != 42 || unset != 7 {
		t.Errorf("EnvInts set %d and %d, want 42 and 7 (unset left alone)", set, unset)
	}
	for _, bad := range []string{"0", "-3", "x"} {
		t.Setenv("KEMUDI_TEST_SET", bad)
		if err := EnvInts(map[string]*int{"KEMUDI_TEST_SET": &set}); err == nil {
			t.Errorf("EnvInts of %q: no error", bad)
		}
	}
}
