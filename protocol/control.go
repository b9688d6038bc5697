package protocol

import "encoding/json"

// Op is a control lane operation.
type Op uint8

// Control operations. Values are part of the wire format.
const (
	OpPing       Op = 1  // liveness of the control lane; answers {}
	OpStats      Op = 2  // request queue part and activity of the worker
	OpSettings   Op = 3  // snapshot of the named Django settings
	OpShutdown   Op = 4  // finish in-flight work, run lifespan shutdown, exit
	OpSpill      Op = 5  // no progress seen: hand leadership on if a view blocks; no answer
	OpChecks     Op = 6  // Django system checks: CheckArgs → CheckResult
	OpDatabase   Op = 7  // SELECT 1 on databases: DatabaseArgs → DatabaseResult
	OpMigrate    Op = 8  // count unapplied migrations → MigrationResult
	OpProbe      Op = 9  // a probe's checks in one answer: ProbeArgs → ProbeResult
	OpFindStatic Op = 10 // Django's staticfiles finders: {"path": rel} → {"path": abs or null}
	OpMetrics    Op = 11 // the app's own Prometheus metrics → MetricsResult
	OpHandler    Op = 12 // import and check an AMQP handler class: HandlerArgs → HandlerInfo
)

// ProbeArgs asks for a liveness or readiness probe's checks.
type ProbeArgs struct {
	Tag       string   `json:"tag"`
	Databases bool     `json:"databases"`
	Aliases   []string `json:"aliases,omitempty"`
	// Timeout (seconds) bounds the database check, which then reports an
	// error rather than letting the control lane miss its deadline.
	Timeout float64 `json:"timeout,omitempty"`
}

// ProbeResult answers OpProbe.
type ProbeResult struct {
	Checks   CheckResult       `json:"checks"`
	DBErrors map[string]string `json:"db_errors"`
	Stats    Stats             `json:"stats"`
}

// CheckArgs selects the Django system checks to run.
type CheckArgs struct {
	Tags         []string `json:"tags,omitempty"`
	Deploy       bool     `json:"deploy"`
	Databases    []string `json:"databases,omitempty"`
	FailLevel    string   `json:"fail_level,omitempty"`
	ValidateTags bool     `json:"validate_tags,omitempty"` // fail on a tag no check has, as manage.py check does
}

// CheckMessage is one finding, as Django's CheckMessage.
type CheckMessage struct {
	Level    int     `json:"level"`
	LevelTag string  `json:"level_tag"`
	ID       string  `json:"id"`
	Msg      string  `json:"msg"`
	Obj      string  `json:"obj"`
	Hint     *string `json:"hint"`
	Text     string  `json:"text"` // formatted as manage.py check prints it
	Serious  bool    `json:"serious"`
}

// CheckResult is the OpChecks answer; Failed when a finding reaches the
// fail level.
type CheckResult struct {
	Messages []CheckMessage `json:"messages"`
	Failed   bool           `json:"failed"`
	Silenced int            `json:"silenced"`
}

// DatabaseArgs narrows the aliases; empty means every configured database.
type DatabaseArgs struct {
	Aliases []string `json:"aliases,omitempty"`
}

// DatabaseResult maps each failing alias to its error.
type DatabaseResult struct {
	Errors map[string]string `json:"errors"`
}

// MigrationResult counts unapplied migrations over every database.
type MigrationResult struct {
	Pending int `json:"pending"`
}

// Control answer status codes.
const (
	StatusOK    = 0
	StatusError = 1
)

// Hello is the worker's handshake, the first frame on each of its connections.
type Hello struct {
	Protocol  int    `json:"protocol"`
	PID       int    `json:"pid"`
	Slot      int    `json:"slot"`
	Token     string `json:"token"`
	Lane      string `json:"lane"` // "data" or "control"
	Python    string `json:"python"`
	Django    string `json:"django"`
	Package   string `json:"package"` // where the hurricane package was imported from
	Threads   int    `json:"threads"`
	AsyncJobs int    `json:"async_limit"`
}

// Welcome answers a hello. A non-empty Error means the connection is refused.
type Welcome struct {
	Protocol int    `json:"protocol"`
	Error    string `json:"error,omitempty"`
}

// Stats is the OpStats answer.
type Stats struct {
	Pending int `json:"pending"` // requests received whose view has not started
	Active  int `json:"active"`  // requests whose view is running
	Threads int `json:"threads"` // sync threads started so far
}

// AppendJSON appends a frame whose payload is v as JSON.
func AppendJSON(dst []byte, t Type, stream uint32, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return AppendFrame(dst, t, 0, stream, b), nil
}

// AppendControlRequest appends a control request; args may be nil.
func AppendControlRequest(dst []byte, id uint32, op Op, args any) ([]byte, error) {
	b := []byte("{}")
	if args != nil {
		var err error
		if b, err = json.Marshal(args); err != nil {
			return nil, err
		}
	}
	dst = AppendHeader(dst, TypeControlRequest, 0, id, 1+len(b))
	dst = append(dst, byte(op))
	return append(dst, b...), nil
}

// DecodeControlResponse splits a control answer into its status and JSON body.
func DecodeControlResponse(p []byte) (status uint8, body []byte, err error) {
	if len(p) < 1 {
		return 0, nil, ErrMalformed
	}
	return p[0], p[1:], nil
}

// MetricsResult answers OpMetrics: the app's prometheus_client registry in
// the text exposition format (0.0.4), without the Python process and GC
// collectors, which would duplicate Go's. Empty when prometheus_client is
// not installed.
type MetricsResult struct {
	Text string `json:"text"`
}

// HandlerArgs names an AMQP handler class and what it is constructed with
// (as 1.6.2 did: queue, exchange, host, port, vhost, username, password).
type HandlerArgs struct {
	Handler  string `json:"handler"`
	Queue    string `json:"queue"`
	Exchange string `json:"exchange"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	VHost    string `json:"vhost"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// HandlerInfo answers OpHandler: the routing keys the handler's
// get_routing_keys returned and its EXCHANGE_TYPE.
type HandlerInfo struct {
	RoutingKeys  []string `json:"routing_keys"`
	ExchangeType string   `json:"exchange_type"`
}
