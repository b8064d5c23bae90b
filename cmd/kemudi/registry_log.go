package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// logrusToSlog sends what libraries log through logrus (distribution's
// registry, libcontainer) to slog, with component=registry for the
// registry's request lines. The registry logs each request at info and
// each 4xx (a client's HEAD before a push, a 401 challenge) as an error:
// those become debug lines; only server-side failures stay errors.
func logrusToSlog(log *slog.Logger) {
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.InfoLevel)
	logrus.AddHook(slogHook{log})
}

type slogHook struct{ log *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug
	switch {
	case e.Level <= logrus.ErrorLevel:
		level = slog.LevelError
	case e.Level == logrus.WarnLevel:
		level = slog.LevelWarn
	}
	log := h.log
	if _, ok := e.Data["http.request.method"]; ok {
		log = log.With("component", "registry")
		if status, ok := e.Data["http.response.status"].(int); ok && status < 500 {
			level = slog.LevelDebug
		}
		if e.Message == "error authorizing context: authorization token required" || e.Message == "error authorizing context: insufficient scope" {
			level = slog.LevelDebug
		}
	}
	if !log.Enabled(context.Background(), level) {
		return nil
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		if k != "go.version" {
			attrs = append(attrs, k, v)
		}
	}
	log.Log(context.Background(), level, e.Message, attrs...)
	return nil
}
