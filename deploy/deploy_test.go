package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	adapter "sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/yaml"

	"github.com/hurricane-run/hurricane/cmd"
	"github.com/hurricane-run/hurricane/metrics"
	"github.com/hurricane-run/hurricane/probe"
	"github.com/hurricane-run/hurricane/serve"
)

// kustomization is the part of kustomize's Kustomization these manifests
// use (kustomize's own module is not worth its dependencies for four
// fields); unknown fields are rejected all the same.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// manifests maps each file to a new value of the type it must decode into
// and the apiVersion and kind it must declare. Every YAML file here is in
// it (TestEveryManifestIsChecked).
var manifests = map[string]struct {
	new              func() any
	apiVersion, kind string
}{
	"deployment.yaml":     {func() any { return new(appsv1.Deployment) }, "apps/v1", "Deployment"},
	"service.yaml":        {func() any { return new(corev1.Service) }, "v1", "Service"},
	"servicemonitor.yaml": {func() any { return new(monitoringv1.ServiceMonitor) }, "monitoring.coreos.com/v1", "ServiceMonitor"},
	"hpa.yaml":            {func() any { return new(autoscalingv2.HorizontalPodAutoscaler) }, "autoscaling/v2", "HorizontalPodAutoscaler"},
	"kustomization.yaml":  {func() any { return new(kustomization) }, "kustomize.config.k8s.io/v1beta1", "Kustomization"},
	// The adapter's configuration is no Kubernetes object: no apiVersion.
	"prometheus-adapter-rule.yaml": {func() any { return new(adapter.MetricsDiscoveryConfig) }, "", ""},
}

var documentSeparator = regexp.MustCompile(`(?m)^---`)

// decodeStrict decodes one YAML document into out the way the API server's
// strict field validation does: field names match case-sensitively (plain
// encoding/json would take readOnlyRootFileSystem for
// readOnlyRootFilesystem), unknown and duplicate fields are errors. The
// adapter's configuration goes through the adapter's own loader, which is
// strict too (yaml.v2 UnmarshalStrict).
func decodeStrict(data []byte, out any) error {
	if documentSeparator.Match(data) {
		return fmt.Errorf("more than one YAML document: keep one object per file")
	}
	if cfg, ok := out.(*adapter.MetricsDiscoveryConfig); ok {
		c, err := adapter.FromYAML(data)
		if err != nil {
			return err
		}
		*cfg = *c
		return nil
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, out, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// typeOf returns the apiVersion and kind an object declares.
func typeOf(obj any) (string, string) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.APIVersion, o.Kind
	case *corev1.Service:
		return o.APIVersion, o.Kind
	case *monitoringv1.ServiceMonitor:
		return o.APIVersion, o.Kind
	case *autoscalingv2.HorizontalPodAutoscaler:
		return o.APIVersion, o.Kind
	case *kustomization:
		return o.APIVersion, o.Kind
	}
	return "", ""
}

func load[T any](t *testing.T, file string) *T {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := manifests[file]
	if !ok {
		t.Fatalf("%s is not in manifests", file)
	}
	obj := m.new()
	if err := decodeStrict(data, obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if v, k := typeOf(obj); v != m.apiVersion || k != m.kind {
		t.Fatalf("%s declares %q %q, want %q %q", file, v, k, m.apiVersion, m.kind)
	}
	out, ok := obj.(*T)
	if !ok {
		t.Fatalf("%s decodes into %T, not %T", file, obj, out)
	}
	return out
}

func TestManifestsDecodeStrictly(t *testing.T) {
	for file, m := range manifests {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			obj := m.new()
			if err := decodeStrict(data, obj); err != nil {
				t.Fatal(err)
			}
			if v, k := typeOf(obj); v != m.apiVersion || k != m.kind {
				t.Fatalf("declares %q %q, want %q %q", v, k, m.apiVersion, m.kind)
			}
		})
	}
}

// TestStrictDecodingRejectsUnknownFields misspells a field in each file:
// the decoding must fail, or the validation above proves nothing.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	for _, tc := range []struct{ file, field, typo string }{
		{"deployment.yaml", "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:"},
		{"deployment.yaml", "readOnlyRootFilesystem:", "readOnlyRootFileSystem:"},
		{"service.yaml", "targetPort: probes", "targetport: probes"},
		{"servicemonitor.yaml", "scrapeTimeout:", "scrapeTimeOut:"},
		{"hpa.yaml", "averageValue:", "averagevalue:"},
		{"kustomization.yaml", "resources:", "resource:"},
		{"prometheus-adapter-rule.yaml", "metricsQuery:", "metricQuery:"},
	} {
		t.Run(tc.file+"/"+tc.typo, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(tc.field)) {
				t.Fatalf("%s has no %q to misspell", tc.file, tc.field)
			}
			bad := bytes.Replace(data, []byte(tc.field), []byte(tc.typo), 1)
			err = decodeStrict(bad, manifests[tc.file].new())
			if err == nil {
				t.Fatalf("%s with %q decoded without error", tc.file, tc.typo)
			}
			if !strings.Contains(err.Error(), strings.TrimSuffix(strings.Fields(tc.typo)[0], ":")) {
				t.Fatalf("error does not name the unknown field: %v", err)
			}
		})
	}
	// Two documents in one file would leave the second one unchecked.
	if err := decodeStrict([]byte("kind: Service\n---\nkind: Service\n"), new(corev1.Service)); err == nil {
		t.Fatal("a second YAML document was accepted")
	}
}

func TestEveryManifestIsChecked(t *testing.T) {
	files, err := filepath.Glob("*.y*ml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := manifests[f]; !ok {
			t.Errorf("%s is validated by no test: add it to manifests", f)
		}
	}
	k := load[kustomization](t, "kustomization.yaml")
	var objects []string
	for f, m := range manifests {
		if m.apiVersion != "" && m.kind != "Kustomization" {
			objects = append(objects, f)
		}
	}
	slices.Sort(objects)
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, objects) {
		t.Fatalf("kustomization.yaml lists %v, want every Kubernetes object here: %v", got, objects)
	}
}

// server is what the container's command line makes of the flags this
// test relies on, read through the real command tree.
type server struct {
	port, probePort                int
	startup, readiness, liveness   string
	metricsPath                    string
	shutdownDelay, shutdownTimeout time.Duration
	checkTimeout                   time.Duration
	reqQueueLen                    int
	flagNames                      []string
}

func parseServer(t *testing.T, c *corev1.Container) server {
	t.Helper()
	if len(c.Command) != 0 {
		t.Fatalf("container %s sets command %v: keep the image's hurricane entrypoint and pass args", c.Name, c.Command)
	}
	root := cmd.NewCommand()
	sub, rest, err := root.Find(c.Args)
	if err != nil || sub.Name() != "serve" {
		t.Fatalf("args %v do not run hurricane serve (%v)", c.Args, err)
	}
	if err := sub.ParseFlags(rest); err != nil {
		t.Fatalf("args %v: %v", c.Args, err)
	}
	if extra := sub.Flags().Args(); len(extra) != 0 {
		t.Fatalf("args %v: unexpected arguments %v", c.Args, extra)
	}
	var s server
	value := func(name string) string {
		f := sub.Flags().Lookup(name)
		if f == nil {
			t.Fatalf("hurricane serve has no --%s", name)
		}
		s.flagNames = append(s.flagNames, name)
		return f.Value.String()
	}
	atoi := func(name string) int {
		n, err := strconv.Atoi(value(name))
		if err != nil {
			t.Fatalf("--%s: %v", name, err)
		}
		return n
	}
	duration := func(name string) time.Duration {
		d, err := time.ParseDuration(value(name))
		if err != nil {
			t.Fatalf("--%s: %v", name, err)
		}
		return d
	}
	s.port = atoi("port")
	s.probePort = atoi("probe-port")
	if s.probePort == 0 { // the default, see cmd/serve.go
		s.probePort = s.port + 1
	}
	s.startup = probe.CleanPath(value("startup-probe"))
	s.readiness = probe.CleanPath(value("readiness-probe"))
	s.liveness = probe.CleanPath(value("liveness-probe"))
	s.metricsPath = probe.CleanPath(value("metrics"))
	s.shutdownDelay = duration("shutdown-delay")
	s.shutdownTimeout = duration("shutdown-timeout")
	s.checkTimeout = duration("check-timeout")
	s.reqQueueLen = atoi("req-queue-len")
	for _, name := range []string{"no-probe", "no-metrics"} {
		if value(name) != "false" {
			t.Fatalf("--%s: the probes and the ServiceMonitor need the probe server and its metrics", name)
		}
	}
	return s
}

// deployment returns the Deployment, its hurricane container and what its
// command line configures.
func deployment(t *testing.T) (*appsv1.Deployment, *corev1.Container, server) {
	t.Helper()
	d := load[appsv1.Deployment](t, "deployment.yaml")
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("deployment has %d containers, want the one hurricane container", len(cs))
	}
	return d, &cs[0], parseServer(t, &cs[0])
}

// namedPort returns the number of the container port with this name.
func namedPort(t *testing.T, c *corev1.Container, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return int(p.ContainerPort)
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

func resolve(t *testing.T, c *corev1.Container, p intstr.IntOrString) int {
	t.Helper()
	if p.Type == intstr.String {
		return namedPort(t, c, p.StrVal)
	}
	return p.IntValue()
}

func TestDeploymentProbesMatchServer(t *testing.T) {
	_, c, s := deployment(t)
	if got := namedPort(t, c, "http"); got != s.port {
		t.Errorf("port http is %d, the server listens on %d", got, s.port)
	}
	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startup", c.StartupProbe, s.startup},
		{"readiness", c.ReadinessProbe, s.readiness},
		{"liveness", c.LivenessProbe, s.liveness},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.probe
			if p == nil || p.HTTPGet == nil {
				t.Fatalf("no HTTP %s probe", tc.name)
			}
			if got := resolve(t, c, p.HTTPGet.Port); got != s.probePort {
				t.Errorf("probe port %d, the server's probe port is %d", got, s.probePort)
			}
			if p.HTTPGet.Path != tc.path {
				t.Errorf("path %q, the server answers %s on %q", p.HTTPGet.Path, tc.name, tc.path)
			}
			if tc.name != "startup" {
				// A probe answers within --check-timeout; the kubelet must
				// wait longer, or a slow check reads as a failure.
				if timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second; timeout <= s.checkTimeout {
					t.Errorf("timeoutSeconds %v is not above --check-timeout %v", timeout, s.checkTimeout)
				}
			}
		})
	}
}

// exitMargin is the time after the pending webhooks for the workers to stop
// and the process to exit.
const exitMargin = 5 * time.Second

func TestGracePeriodCoversShutdown(t *testing.T) {
	d, c, s := deployment(t)
	spec := d.Spec.Template.Spec
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep: ingress controllers and load balancers need a moment to drop the pod")
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	// The kubelet's clock runs from the preStop hook on; SIGTERM comes after it.
	need := preStop + s.shutdownDelay + s.shutdownTimeout + serve.WebhookFlush + exitMargin
	if grace < need {
		t.Fatalf("terminationGracePeriodSeconds %v < preStop %v + --shutdown-delay %v + --shutdown-timeout %v + webhooks %v + exit %v = %v",
			grace, preStop, s.shutdownDelay, s.shutdownTimeout, serve.WebhookFlush, exitMargin, need)
	}
}

func TestDeploymentRunsSafely(t *testing.T) {
	d, c, s := deployment(t)
	if d.Spec.Replicas != nil {
		t.Error("replicas is set: the HorizontalPodAutoscaler owns it, and apply would reset it")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("no %s request: the scheduler and the autoscaler need one", r)
		}
	}
	if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		if req := c.Resources.Requests[corev1.ResourceMemory]; lim.Cmp(req) < 0 {
			t.Errorf("memory limit %s below the request %s", lim.String(), req.String())
		}
	}
	pod := d.Spec.Template.Spec.SecurityContext
	sc := c.SecurityContext
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser == 0 {
		t.Error("the pod does not run as a non-root UID")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("the container may escalate privileges or keeps capabilities")
	}
	if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		// Worker sockets go to $TMPDIR (/tmp) and the extracted Python
		// package to $XDG_CACHE_HOME: both must be on a writable volume.
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		for _, dir := range []string{"/tmp", env["XDG_CACHE_HOME"]} {
			if dir == "" {
				t.Error("XDG_CACHE_HOME unset: with a read-only root filesystem, point it at a writable volume")
				continue
			}
			if !writable(d, c, dir) {
				t.Errorf("%s is on the read-only root filesystem: mount an emptyDir", dir)
			}
		}
	}
	// The command line pins the flags this test read; a HURRICANE_ variable
	// for one of them would only matter where the command line is silent,
	// which is confusing either way.
	for _, e := range c.Env {
		for _, name := range s.flagNames {
			if e.Name == "HURRICANE_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")) {
				t.Errorf("env %s: pass --%s in args, where this test reads it", e.Name, name)
			}
		}
	}
}

// writable reports whether dir is on an emptyDir volume mounted read-write.
func writable(d *appsv1.Deployment, c *corev1.Container, dir string) bool {
	for _, m := range c.VolumeMounts {
		if m.ReadOnly || (dir != m.MountPath && !strings.HasPrefix(dir, strings.TrimSuffix(m.MountPath, "/")+"/")) {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

func TestServiceSelectsDeployment(t *testing.T) {
	d, c, s := deployment(t)
	svc := load[corev1.Service](t, "service.yaml")
	podLabels := d.Spec.Template.Labels
	if len(svc.Spec.Selector) == 0 {
		t.Fatal("the Service selects nothing")
	}
	for k, v := range svc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("the Service selects %s=%s, the pods are labelled %v", k, v, podLabels)
		}
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if podLabels[k] != v {
			t.Errorf("the Deployment's selector %s=%s does not match its own pods %v", k, v, podLabels)
		}
	}
	targets := map[string]int{}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.Type != intstr.String {
			t.Errorf("Service port %s targets a number: name the container port", p.Name)
			continue
		}
		targets[p.Name] = resolve(t, c, p.TargetPort)
	}
	if targets["http"] != s.port {
		t.Errorf("Service port http reaches container port %d, the app port is %d", targets["http"], s.port)
	}

	sm := load[monitoringv1.ServiceMonitor](t, "servicemonitor.yaml")
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, the Service is labelled %v", k, v, svc.Labels)
		}
	}
	if len(sm.Spec.Selector.MatchLabels) == 0 && len(sm.Spec.Selector.MatchExpressions) == 0 {
		t.Error("the ServiceMonitor selects every Service")
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("the ServiceMonitor has %d endpoints, want 1", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port == "" {
		t.Fatal("the ServiceMonitor endpoint names no Service port")
	}
	port, ok := targets[ep.Port]
	if !ok {
		t.Fatalf("the ServiceMonitor scrapes port %q, which the Service does not have", ep.Port)
	}
	if port != s.probePort {
		t.Errorf("the ServiceMonitor scrapes container port %d, metrics are on the probe port %d", port, s.probePort)
	}
	if ep.Path != s.metricsPath {
		t.Errorf("the ServiceMonitor scrapes %q, metrics are at %q", ep.Path, s.metricsPath)
	}
}

// exposedName is the custom metric name the adapter serves for a series, as
// the adapter computes it (pkg/naming: "as" defaults to $0 or $1).
func exposedName(t *testing.T, r adapter.DiscoveryRule, series string) string {
	t.Helper()
	re := regexp.MustCompile(".*")
	if r.Name.Matches != "" {
		var err error
		if re, err = regexp.Compile(r.Name.Matches); err != nil {
			t.Fatalf("name.matches: %v", err)
		}
	}
	as := r.Name.As
	if as == "" {
		switch re.NumSubexp() {
		case 0:
			as = "$0"
		case 1:
			as = "$1"
		default:
			t.Fatalf("name.matches %q has several groups and no name.as", r.Name.Matches)
		}
	}
	m := re.FindStringSubmatchIndex(series)
	if m == nil {
		t.Fatalf("name.matches %q does not match the series %s", r.Name.Matches, series)
	}
	return string(re.ExpandString(nil, as, series, m))
}

// exported scrapes the metrics the server serves on its probe port, with a
// request queue of 4, and returns them by name.
func exported(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	m := metrics.New(metrics.Info{}, metrics.Sources{
		QueueLength:    func(context.Context) (int, error) { return 4, nil },
		WorkersAlive:   func() int { return 1 },
		Restarts:       func() map[string]int64 { return map[string]int64{"exit": 1} },
		StartupSeconds: func() float64 { return 1.5 },
		ProbeHealthy:   func(string) (bool, bool) { return true, true },
		Webhooks:       func() map[[2]string]int64 { return map[[2]string]int64{{"startup", "delivered"}: 1} },
		Workers:        func() []metrics.Worker { return []metrics.Worker{{Slot: 0, PID: 42, RSS: 1 << 20, CPU: time.Second}} },
	}, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: m.Handler()}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	res, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("metrics answered %s", res.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

// scrapeLabels are the target labels prometheus-operator's ServiceMonitor
// relabelling adds at scrape time; a metric with its own would see them
// renamed to exported_*.
var scrapeLabels = []string{"namespace", "pod", "service", "endpoint", "container", "job", "instance"}

var seriesSelector = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$`)

func TestAutoscalerUsesAdapterMetric(t *testing.T) {
	_, _, s := deployment(t)
	cfg := load[adapter.MetricsDiscoveryConfig](t, "prometheus-adapter-rule.yaml")
	if len(cfg.Rules) != 1 {
		t.Fatalf("%d adapter rules, want 1", len(cfg.Rules))
	}
	rule := cfg.Rules[0]

	// The series: a gauge the server really exports, without labels the
	// scrape adds; the scrape's namespace and pod are required.
	sel := seriesSelector.FindStringSubmatch(rule.SeriesQuery)
	if sel == nil {
		t.Fatalf("seriesQuery %q is not metric{matchers}", rule.SeriesQuery)
	}
	series := sel[1]
	fams := exported(t)
	fam, ok := fams[series]
	if !ok {
		t.Fatalf("seriesQuery names %s, which the server does not export", series)
	}
	if fam.GetType() != dto.MetricType_GAUGE || len(fam.Metric) != 1 || fam.Metric[0].GetGauge().GetValue() != 4 {
		t.Fatalf("%s is not the queue gauge: %v", series, fam)
	}
	// No family of the server's own may carry a label the scrape adds
	// (docs/kubernetes.md says so).
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if slices.Contains(scrapeLabels, l.GetName()) {
					t.Errorf("%s carries its own %s label, which clashes with the scrape's", name, l.GetName())
				}
			}
		}
	}
	for _, l := range []string{"namespace", "pod"} {
		if !strings.Contains(sel[2], l+`!=""`) {
			t.Errorf("seriesQuery %q does not require the %s label", rule.SeriesQuery, l)
		}
		if o, ok := rule.Resources.Overrides[l]; !ok || o.Resource != l || o.Group != "" {
			t.Errorf("resources.overrides does not map the %s label to the %s resource: %v", l, l, rule.Resources.Overrides)
		}
	}

	// The query, rendered as the adapter does for the pods of one namespace.
	tmpl, err := template.New("metricsQuery").Delims("<<", ">>").Parse(rule.MetricsQuery)
	if err != nil {
		t.Fatalf("metricsQuery: %v", err)
	}
	// The adapter fills in the resource label it groups by: pod for this
	// autoscaler, namespace for a namespace's total.
	for _, by := range []string{"pod", "namespace"} {
		var q strings.Builder
		if err := tmpl.Execute(&q, map[string]string{
			"Series": series, "LabelMatchers": `namespace="default",pod=~"a|b"`, "GroupBy": by,
		}); err != nil {
			t.Fatalf("metricsQuery: %v", err)
		}
		want := series + `{namespace="default",pod=~"a|b"}`
		if !strings.Contains(q.String(), want) || !strings.HasSuffix(q.String(), "by ("+by+")") {
			t.Errorf("metricsQuery renders %q: want it to select %s and group by %s", q.String(), want, by)
		}
	}

	// The autoscaler: the Deployment, on the name the adapter serves.
	h := load[autoscalingv2.HorizontalPodAutoscaler](t, "hpa.yaml")
	ref := h.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != "hurricane-demo" {
		t.Errorf("the autoscaler scales %s %s %s, not the Deployment", ref.APIVersion, ref.Kind, ref.Name)
	}
	if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Type != autoscalingv2.PodsMetricSourceType || h.Spec.Metrics[0].Pods == nil {
		t.Fatalf("the autoscaler's metrics are %v, want one Pods metric", h.Spec.Metrics)
	}
	pods := h.Spec.Metrics[0].Pods
	if name := exposedName(t, rule, series); pods.Metric.Name != name {
		t.Errorf("the autoscaler asks for %q, the adapter serves %q", pods.Metric.Name, name)
	}
	if pods.Target.Type != autoscalingv2.AverageValueMetricType || pods.Target.AverageValue == nil {
		t.Fatal("the autoscaler's target is not an average value per pod")
	}
	// Scale out before readiness starts shedding load at --req-queue-len.
	if limit := resource.NewQuantity(int64(s.reqQueueLen), resource.DecimalSI); pods.Target.AverageValue.Cmp(*limit) >= 0 {
		t.Errorf("target queue %s per pod is not below --req-queue-len %d", pods.Target.AverageValue.String(), s.reqQueueLen)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
		t.Error("minReplicas below 2: a rolling update or a node drain leaves no pod serving")
	}
}
