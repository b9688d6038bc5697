package serve

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hurricane-run/hurricane/metrics"
)

// BenchmarkFinish prices what each request costs the Go process for
// metrics and the access log (bench/run measures it end to end; this is the
// per-request CPU time, without the noise of a shared machine).
func BenchmarkFinish(b *testing.B) {
	for _, tc := range []struct {
		name          string
		metrics, logs bool
	}{{"bare", false, false}, {"metrics", true, false}, {"access-log", false, true}, {"both", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			s, err := New(Config{AccessLog: tc.logs}, nil, log)
			if err != nil {
				b.Fatal(err)
			}
			if tc.metrics {
				s.metrics = metrics.New(metrics.Info{}, metrics.Sources{}, log)
			}
			x := &exchange{srv: s, started: time.Now(), method: "GET", path: "/hello", route: "/hello",
				remote: "127.0.0.1", requestID: "df1eae952c387dd43f119dd2ec1686ac"}
			b.ReportAllocs()
			for b.Loop() {
				if s.metrics != nil {
					s.metrics.Begin()
				}
				s.finish(x, 200, 12, 0)
			}
		})
	}
}
