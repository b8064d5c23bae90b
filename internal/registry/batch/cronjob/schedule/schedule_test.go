package schedule

import (
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct{ spec, err string }{
		{"", "empty spec string"},
		{"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"0 0 * * * *", "expected exactly 5 fields, found 6: [0 0 * * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"* 24 * * *", "end of range (24) above maximum (23): 24"},
		{"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"* * * 13 *", "end of range (13) above maximum (12): 13"},
		{"* * * * 7", "end of range (7) above maximum (6): 7"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/2/3 * * * *", "too many slashes: */2/3"},
		{"x * * * *", `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{"* * * foo *", `failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax`},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
		{"@every 5 minutes", `failed to parse duration @every 5 minutes: time: unknown unit " minutes" in duration "5 minutes"`},
		{"TZ=Mars/Olympus 0 * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"},
		{"TZ=0", "invalid schedule format: runtime error: slice bounds out of range [:-1]"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.spec)
		if err == nil || err.Error() != tt.err {
			t.Errorf("Parse(%q) error %v, want %q", tt.spec, err, tt.err)
		}
	}
}

func TestParseValid(t *testing.T) {
	for _, spec := range []string{
		"*/5 * * * *", "0 0 * * *", "0 9-17 * * MON-FRI", "0 0 1,15 * ?", "30 2 * jan,Jul sun",
		"0 */2 1-7 * 1", "5/15 * * * *", "@hourly", "@daily", "@midnight", "@weekly", "@monthly",
		"@yearly", "@annually", "@every 1h30m", "CRON_TZ=UTC 0 6 * * *", "TZ=Asia/Jakarta 0 6 * * *",
		"1,,2 * * * *",
	} {
		if _, err := Parse(spec); err != nil {
			t.Errorf("Parse(%q): %v", spec, err)
		}
	}
}

func TestNext(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct{ spec, after, want string }{
		{"*/5 * * * *", "2026-03-10T10:02:30Z", "2026-03-10T10:05:00Z"},
		{"*/5 * * * *", "2026-03-10T10:05:00Z", "2026-03-10T10:10:00Z"},
		{"0 0 * * *", "2026-03-10T10:02:00Z", "2026-03-11T00:00:00Z"},
		{"@hourly", "2026-12-31T23:30:00Z", "2027-01-01T00:00:00Z"},
		{"0 9 * * MON-FRI", "2026-03-13T10:00:00Z", "2026-03-16T09:00:00Z"}, // Friday -> Monday
		// Day of month or day of week when neither is a star.
		{"0 0 13 * 5", "2026-03-01T00:00:00Z", "2026-03-06T00:00:00Z"},
		{"0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"0 0 30 2 *", "2026-03-01T00:00:00Z", "0001-01-01T00:00:00Z"},
		{"@every 90s", "2026-03-10T10:00:00Z", "2026-03-10T10:01:30Z"},
		{"TZ=Asia/Jakarta 0 6 * * *", "2026-03-10T00:00:00Z", "2026-03-10T23:00:00Z"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.spec, err)
		}
		got := s.Next(utc(tt.after)).UTC()
		if want := utc(tt.want); !got.Equal(want) && !(got.IsZero() && tt.want == "0001-01-01T00:00:00Z") {
			t.Errorf("%q after %s: %s, want %s", tt.spec, tt.after, got.Format(time.RFC3339), tt.want)
		}
	}
}

func TestNextAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	s, _ := Parse("30 2 * * *")
	// 2:30 does not exist on 8 March 2026 in New York.
	got := s.Next(time.Date(2026, 3, 8, 0, 0, 0, 0, ny))
	if got.Before(time.Date(2026, 3, 8, 0, 0, 0, 0, ny)) || got.After(time.Date(2026, 3, 9, 2, 30, 0, 0, ny)) {
		t.Errorf("next %s", got)
	}
	h, _ := Parse("0 * * * *")
	// The repeated 1 o'clock hour on 1 November 2026 must not loop.
	start := time.Date(2026, 11, 1, 0, 30, 0, 0, ny)
	prev := start
	for i := 0; i < 4; i++ {
		n := h.Next(prev)
		if !n.After(prev) {
			t.Fatalf("Next(%s) = %s, not after", prev, n)
		}
		prev = n
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@every 1m", "TZ=UTC 0 0 * * *", "0-59/7 1,2 3-4 jan-dec sun"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err == nil {
			s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	})
}
