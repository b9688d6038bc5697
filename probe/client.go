package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Result is a probe's answer.
type Result struct {
	Status int
	Body   string
}

// Healthy reports a 2xx answer.
func (r Result) Healthy() bool { return r.Status >= 200 && r.Status < 300 }

// Call asks a running server's probe at host:port/path.
func Call(ctx context.Context, host string, port int, path string, timeout time.Duration) (Result, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + CleanPath(path)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Result{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("call %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Result{}, fmt.Errorf("read %s: %w", url, err)
	}
	return Result{Status: resp.StatusCode, Body: string(body)}, nil
}
