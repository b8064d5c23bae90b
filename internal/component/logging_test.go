package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietCancellation(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level
		err   any
		shown bool
	}{
		{"canceled", slog.LevelInfo, context.Canceled, false},
		{"wrapped", slog.LevelInfo, fmt.Errorf("Post https://x: %w", context.Canceled), false},
		{"as text", slog.LevelInfo, "Get x: context canceled", false},
		{"shown at debug", slog.LevelDebug, context.Canceled, true},
		{"deadline", slog.LevelInfo, context.DeadlineExceeded, true},
		{"other", slog.LevelInfo, errors.New("connection refused"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log := slog.New(quietCancellation{slog.NewTextHandler(&out, &slog.HandlerOptions{Level: tt.level})})
			log.With("component", "scheduler").Error("Error retrieving lease lock", "err", tt.err)
			if got := strings.Contains(out.String(), "Error retrieving lease lock"); got != tt.shown {
				t.Errorf("shown = %v, want %v: %q", got, tt.shown, out.String())
			}
			if tt.shown && tt.level == slog.LevelDebug && !strings.Contains(out.String(), "level=DEBUG") {
				t.Errorf("not demoted to debug: %q", out.String())
			}
		})
	}
}
