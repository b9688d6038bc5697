package buildinfo

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by -ldflags -X; empty when not stamped.
var (
	version string
	commit  string
	date    string
)

// Unknown stands for a value neither stamped nor recorded by the toolchain.
const Unknown = "unknown"

// Dev is the version of a build that is not a release.
const Dev = "dev"

// Info describes this binary.
type Info struct {
	Version  string // "1.2.3" (no leading v), or Dev
	Commit   string // full commit hash, "-dirty" appended for a modified tree; or Unknown
	Date     string // commit date, RFC 3339; or Unknown
	Go       string // the Go version that built it, e.g. go1.26.8
	Platform string // GOOS/GOARCH
}

// Read returns the stamped values, falling back to the toolchain's build
// information for the ones not stamped.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return read(bi, version, commit, date)
}

// Version is this binary's version (Dev unless stamped or installed at a
// released version).
func Version() string { return Read().Version }

// read is Read with its inputs as arguments, for tests.
func read(bi *debug.BuildInfo, version, commit, date string) Info {
	i := Info{Version: version, Commit: commit, Date: date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if i.Version == "" && isRelease(bi.Main.Version) {
			i.Version = bi.Main.Version
		}
		if i.Commit == "" && settings["vcs.revision"] != "" {
			i.Commit = settings["vcs.revision"]
			if settings["vcs.modified"] == "true" {
				i.Commit += "-dirty"
			}
		}
		if i.Date == "" {
			i.Date = settings["vcs.time"]
		}
	}
	i.Version = strings.TrimPrefix(i.Version, "v")
	if i.Version == "" {
		i.Version = Dev
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	if i.Date == "" {
		i.Date = Unknown
	}
	return i
}

// pseudoVersion matches the suffix the Go toolchain gives untagged commits
// (v0.0.0-20260102150405-abcdef123456).
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// isRelease reports a module version that names a tagged release: not
// "(devel)", not a pseudo-version, not a build from a modified tree.
func isRelease(v string) bool {
	return strings.HasPrefix(v, "v") && !strings.Contains(v, "+") && !pseudoVersion.MatchString(v)
}
