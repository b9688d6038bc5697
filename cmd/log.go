package cmd

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logLevel is a flag value accepting slog's names and Python's
// (DEBUG, INFO, WARNING, ERROR, CRITICAL).
type logLevel struct{ level slog.Level }

func (l *logLevel) String() string { return strings.ToLower(l.level.String()) }
func (l *logLevel) Type() string   { return "level" }
func (l *logLevel) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		l.level = slog.LevelDebug
	case "info":
		l.level = slog.LevelInfo
	case "warn", "warning":
		l.level = slog.LevelWarn
	case "error", "critical", "fatal":
		l.level = slog.LevelError
	default:
		return fmt.Errorf("unknown log level %q (use debug, info, warning or error)", s)
	}
	return nil
}

// logFormat is json or text.
type logFormat struct{ name string }

func (f *logFormat) String() string { return f.name }
func (f *logFormat) Type() string   { return "format" }
func (f *logFormat) Set(s string) error {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "json", "text":
		f.name = v
		return nil
	}
	return fmt.Errorf("unknown log format %q (use json or text)", s)
}

type logOptions struct {
	format logFormat
	level  logLevel
}

func newLogger(w io.Writer, o *logOptions) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.level.level}
	if o.format.name == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
