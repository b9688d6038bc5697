// Package reap lets hurricane be a container's PID 1.
//
// PID 1 has two duties no other process has: orphaned processes anywhere in
// the container are re-parented to it and stay zombies until it waits for
// them, and the kernel delivers it no signal it has not installed a handler
// for. A Django view that starts a subprocess which itself starts a daemon,
// or a worker killed while its own children run, leaves such orphans.
//
// Hurricane's worker pool waits for its own children with exec.Cmd.Wait. A
// reaper in the same process calling wait4(-1) would race with those waits
// and steal their exit statuses. So, as PID 1, hurricane does what tini
// does instead: it starts itself again as its only direct child (same
// arguments, same environment, its own process group), forwards signals to
// it, and waits for any child: each orphan is collected as it exits, and the
// child's exit status becomes its own. The serving process is never PID 1,
// so nothing in it changes.
package reap
