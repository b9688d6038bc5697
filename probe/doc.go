// Package probe answers Kubernetes' startup, readiness and liveness probes
// (SPEC §3) and holds the state they report; it also has the client behind
// "hurricane probe".
//
// Liveness and readiness run the Django system checks tagged "liveness" or
// "readiness" (deployment checks included) over a worker's control lane;
// readiness also runs SELECT 1 on the databases and sheds load while the
// request queue is too long. Each flip of a probe's result can send a
// webhook.
package probe
