package component

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"

	"k8s.io/klog/v2"
)

// SetupLogging sends slog and klog (client-go's logger) to stderr as
// structured text.
func SetupLogging(level string) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	slog.SetDefault(logger)
	klog.SetSlogLogger(slog.New(quietCancellation{logger.Handler()}))
}

// quietCancellation passes records on, except that errors which only
// say a context was canceled go at debug level: client-go logs every
// request a stopping component had in flight (a lease renewal, an event)
// as an error, and stopping is not one.
type quietCancellation struct{ slog.Handler }

func (h quietCancellation) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && onlyCanceled(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietCancellation) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietCancellation{h.Handler.WithAttrs(attrs)}
}

func (h quietCancellation) WithGroup(name string) slog.Handler {
	return quietCancellation{h.Handler.WithGroup(name)}
}

// onlyCanceled is true when the record's error is a canceled context.
func onlyCanceled(r slog.Record) bool {
	canceled := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" {
			return true
		}
		switch v := a.Value.Any().(type) {
		case error:
			canceled = errors.Is(v, context.Canceled)
		case string:
			canceled = strings.HasSuffix(v, context.Canceled.Error())
		}
		return false
	})
	return canceled
}
