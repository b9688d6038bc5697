// Package watch reports file changes under directory trees, debounced, for
// --autoreload and --static-watch.
package watch
