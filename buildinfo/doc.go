// Package buildinfo holds what the release build stamps into the binary:
// version, commit and commit date, set with
//
//	go build -ldflags "-X github.com/hurricane-run/hurricane/buildinfo.version=1.2.3
//	  -X github.com/hurricane-run/hurricane/buildinfo.commit=<full hash>
//	  -X github.com/hurricane-run/hurricane/buildinfo.date=<RFC 3339>"
//
// (.goreleaser.yaml does this). An unstamped build falls back to what the Go
// toolchain records: the module version of `go install ...@v1.2.3`, and the
// VCS revision and commit time of a build inside a git checkout. It imports
// only the standard library, so any package may use it.
package buildinfo
