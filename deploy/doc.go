// Package deploy holds the Kubernetes manifests for Hurricane (Deployment,
// Service, ServiceMonitor, HorizontalPodAutoscaler, kustomization) and the
// Prometheus Adapter rule the autoscaler needs, as YAML files; its only Go
// code is the test that decodes each file strictly into the Kubernetes,
// prometheus-operator and Prometheus Adapter types and checks it against the
// server's real flags and metrics. docs/kubernetes.md describes them.
package deploy
