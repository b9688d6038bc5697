package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	vcs := func(rev, modified, time string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}, {Key: "vcs.time", Value: time}}
	}
	cases := []struct {
		name                  string
		bi                    *debug.BuildInfo
		version, commit, date string
		want                  Info
	}{
		{
			name:    "stamped wins over the toolchain",
			bi:      &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs("ffff", "true", "2001-01-01T00:00:00Z")},
			version: "1.2.3", commit: "abc1234", date: "2026-02-03T04:05:06Z",
			want: Info{Version: "1.2.3", Commit: "abc1234", Date: "2026-02-03T04:05:06Z"},
		},
		{
			name: "go install at a release",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}},
			want: Info{Version: "1.4.0", Commit: Unknown, Date: Unknown},
		},
		{
			name: "build in a modified checkout",
			bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102150405-abcdef123456+dirty"},
				Settings: vcs("abcdef1234567890", "true", "2026-01-02T15:04:05Z")},
			want: Info{Version: Dev, Commit: "abcdef1234567890-dirty", Date: "2026-01-02T15:04:05Z"},
		},
		{
			name: "build at an untagged commit",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20260102150405-abcdef123456"}, Settings: vcs("abcdef1234567890", "false", "")},
			want: Info{Version: Dev, Commit: "abcdef1234567890", Date: Unknown},
		},
		{
			name: "test binary",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: Dev, Commit: Unknown, Date: Unknown},
		},
		{name: "no build info", want: Info{Version: Dev, Commit: Unknown, Date: Unknown}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.Go, c.want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
			if got := read(c.bi, c.version, c.commit, c.date); got != c.want {
				t.Errorf("read() = %+v, want %+v", got, c.want)
			}
		})
	}
}
