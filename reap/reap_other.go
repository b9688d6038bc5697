//go:build !linux

package reap

// IsInit is false: hurricane is PID 1 only in Linux containers.
func IsInit() bool { return false }

// Main is never called where IsInit is false.
func Main() int { return 1 }
