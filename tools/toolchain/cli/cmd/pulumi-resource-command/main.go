// Command pulumi-resource-command is a small stand-in for the `command`
// resource provider (npm @pulumi/command 1.2.1), written for this project.
//
// Why it exists: the official provider lives in the Go module
// github.com/pulumi/pulumi-command/provider. That module has no tags of its
// own (the repository tags only v1.2.1 and sdk/v1.2.1), and the Go module
// proxy reachable from this project's machines serves neither a v1.2.1 nor any
// pseudo-version of it (404 / 403 "This module version is not available"),
// so it cannot be built here. See docs/toolchain.md.
//
// What it implements, with the semantics documented in @pulumi/command 1.2.1:
//
//   - command:local:Command: create / update / delete commands, dir,
//     environment, interpreter (default ["/bin/sh", "-c"]), stdin, triggers,
//     addPreviousOutputInEnv (PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR),
//     logging, assetPaths / archivePaths, and the stdout / stderr outputs
//     (with one trailing newline removed).
//   - command:local:run (the local.run / local.runOutput invoke).
//   - command:remote:Command and command:remote:CopyToRemote over SSH, with a
//     bastion (connection.proxy) and a pinned host key (remote.go).
//
// command:remote:CopyFile (deprecated) is NOT implemented. Whenever the
// official binary is installed on PATH, scripts/toolchain.sh uses it instead.
//
// The version this plugin reports (GetPluginInfo) is set at link time with
// -X main.Version=1.2.1 so that the engine treats it as command v1.2.1.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is the provider version reported to the engine; set with -ldflags "-X main.Version=1.2.1".
var Version = "1.2.1"

const (
	tokCommand = "command:local:Command"
	tokRun     = "command:local:run"
)

// Input property names of command:local:Command (and, minus create/update/delete/triggers, of local:run).
var commandInputs = []string{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "create", "delete", "dir", "environment",
	"interpreter", "logging", "stdin", "triggers", "update",
}

func main() {
	fset := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	_ = fset.String("tracing", "", "ignored (accepted for compatibility)")
	_ = fset.Bool("logtostderr", false, "ignored (accepted for compatibility)")
	_ = fset.Bool("logflow", false, "ignored (accepted for compatibility)")
	_ = fset.Int("v", 0, "ignored (accepted for compatibility)")
	showVersion := fset.Bool("version", false, "print the version and exit")
	if err := fset.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println(Version)
		return
	}
	p := &provider{running: map[*exec.Cmd]struct{}{}}
	if args := fset.Args(); len(args) > 0 {
		conn, err := grpc.NewClient(args[len(args)-1],
			grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
		if err != nil {
			fmt.Fprintf(os.Stderr, "error: could not connect to the engine: %v\n", err)
			os.Exit(1)
		}
		p.engine = pulumirpc.NewEngineClient(conn)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: could not start provider RPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "error: provider RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	engine  pulumirpc.EngineClient
	mu      sync.Mutex
	running map[*exec.Cmd]struct{}
}

var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, marshalOpts)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = resource.PropertyMap{}
	}
	return m, nil
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOpts)
}

func urnType(urn string) string {
	// urn:pulumi:<stack>::<project>::<qualified type>::<name>
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return ""
	}
	t := parts[2]
	if i := strings.LastIndex(t, "$"); i >= 0 {
		t = t[i+1:]
	}
	return t
}

func urnName(urn string) string {
	parts := strings.Split(urn, "::")
	return parts[len(parts)-1]
}

func unsupported(tok string) error {
	if strings.HasPrefix(tok, "command:remote:") {
		return status.Errorf(codes.Unimplemented,
			"%s is not supported by this stand-in build of pulumi-resource-command (command:local:*, "+
				"remote:Command and remote:CopyToRemote are; install the official plugin, see docs/toolchain.md)", tok)
	}
	return status.Errorf(codes.InvalidArgument, "unknown resource type %q", tok)
}

// ---------------------------------------------------------------------------
// Plugin metadata and configuration

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	schema := map[string]any{
		"name":        "command",
		"version":     Version,
		"description": "Stand-in for the Pulumi Command provider (local:Command, local:run, remote:Command, remote:CopyToRemote); see docs/toolchain.md.",
	}
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for cmd := range p.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
	return &emptypb.Empty{}, nil
}

// ---------------------------------------------------------------------------
// Reading typed values out of a PropertyMap (secrets are unwrapped for use)

func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// getScalar reads one scalar input: def when missing or null, an error naming the key when of another type.
func getScalar[T any](m resource.PropertyMap, k string, def T, what string, is func(resource.PropertyValue) bool, get func(resource.PropertyValue) T) (T, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok {
		return def, nil
	}
	v = plain(v)
	switch {
	case v.IsNull():
		return def, nil
	case is(v):
		return get(v), nil
	default:
		return def, fmt.Errorf("%s: expected %s, got %v", k, what, v.TypeString())
	}
}

func getString(m resource.PropertyMap, k string) (string, error) {
	return getScalar(m, k, "", "a string", resource.PropertyValue.IsString, resource.PropertyValue.StringValue)
}

func getBool(m resource.PropertyMap, k string, def bool) (bool, error) {
	return getScalar(m, k, def, "a boolean", resource.PropertyValue.IsBool, resource.PropertyValue.BoolValue)
}

func getStrings(m resource.PropertyMap, k string) ([]string, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok {
		return nil, nil
	}
	v = plain(v)
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%s: expected a list of strings, got %v", k, v.TypeString())
	}
	var out []string
	for i, e := range v.ArrayValue() {
		e = plain(e)
		if !e.IsString() {
			return nil, fmt.Errorf("%s[%d]: expected a string, got %v", k, i, e.TypeString())
		}
		out = append(out, e.StringValue())
	}
	return out, nil
}

func getStringMap(m resource.PropertyMap, k string) (map[string]string, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok {
		return nil, nil
	}
	v = plain(v)
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, fmt.Errorf("%s: expected a map of strings, got %v", k, v.TypeString())
	}
	out := map[string]string{}
	for kk, e := range v.ObjectValue() {
		e = plain(e)
		if !e.IsString() {
			return nil, fmt.Errorf("%s.%s: expected a string, got %v", k, kk, e.TypeString())
		}
		out[string(kk)] = e.StringValue()
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Running commands

type spec struct {
	command     string
	dir         string
	environment map[string]string
	interpreter []string
	stdin       string
	logging     string
	assetPaths  []string
	archivePath []string
	addPrevious bool
}

func readSpec(m resource.PropertyMap, commandKey string) (spec, error) {
	var s spec
	var err error
	errs := []error{}
	s.command, err = getString(m, commandKey)
	errs = append(errs, err)
	s.dir, err = getString(m, "dir")
	errs = append(errs, err)
	s.environment, err = getStringMap(m, "environment")
	errs = append(errs, err)
	s.interpreter, err = getStrings(m, "interpreter")
	errs = append(errs, err)
	s.stdin, err = getString(m, "stdin")
	errs = append(errs, err)
	s.logging, err = getString(m, "logging")
	errs = append(errs, err)
	s.assetPaths, err = getStrings(m, "assetPaths")
	errs = append(errs, err)
	s.archivePath, err = getStrings(m, "archivePaths")
	errs = append(errs, err)
	s.addPrevious, err = getBool(m, "addPreviousOutputInEnv", true)
	errs = append(errs, err)
	if s.logging == "" {
		s.logging = "stdoutAndStderr"
	}
	switch s.logging {
	case "stdout", "stderr", "stdoutAndStderr", "none":
	default:
		errs = append(errs, fmt.Errorf("logging: invalid value %q (want stdout, stderr, stdoutAndStderr or none)",
			s.logging))
	}
	return s, errors.Join(errs...)
}

// lineLogger forwards complete lines to the engine as ephemeral status messages and keeps the full text.
type lineLogger struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	pending []byte
	emit    func(string)
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	if l.emit == nil {
		return len(b), nil
	}
	l.pending = append(l.pending, b...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.pending[:i]))
		l.pending = l.pending[i+1:]
	}
	return len(b), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.emit != nil && len(l.pending) > 0 {
		l.emit(string(l.pending))
		l.pending = nil
	}
}

func (p *provider) log(ctx context.Context, urn, msg string, sev pulumirpc.LogSeverity) {
	if p.engine == nil {
		return
	}
	_, _ = p.engine.Log(ctx, &pulumirpc.LogRequest{Severity: sev, Message: msg, Urn: urn, Ephemeral: true})
}

type result struct {
	stdout, stderr string
}

func (p *provider) run(ctx context.Context, urn string, s spec, extraEnv []string) (result, error) {
	interp := s.interpreter
	if len(interp) == 0 {
		if runtime.GOOS == "windows" {
			interp = []string{"cmd", "/C"}
		} else {
			interp = []string{"/bin/sh", "-c"}
		}
	}
	args := append(append([]string{}, interp[1:]...), s.command)
	cmd := exec.Command(interp[0], args...)
	if s.dir != "" {
		st, err := os.Stat(s.dir)
		if err != nil || !st.IsDir() {
			return result{}, fmt.Errorf("dir %q does not exist or is not a directory", s.dir)
		}
		cmd.Dir = s.dir
	}
	env := os.Environ()
	keys := make([]string, 0, len(s.environment))
	for k := range s.environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.environment[k])
	}
	cmd.Env = append(env, extraEnv...)
	if s.stdin != "" {
		cmd.Stdin = strings.NewReader(s.stdin)
	}
	stdout := &lineLogger{}
	stderr := &lineLogger{}
	if s.logging == "stdout" || s.logging == "stdoutAndStderr" {
		stdout.emit = func(line string) { p.log(ctx, urn, line, pulumirpc.LogSeverity_INFO) }
	}
	if s.logging == "stderr" || s.logging == "stdoutAndStderr" {
		stderr.emit = func(line string) { p.log(ctx, urn, line, pulumirpc.LogSeverity_INFO) }
	}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("starting %q: %w", interp[0], err)
	}
	p.mu.Lock()
	p.running[cmd] = struct{}{}
	p.mu.Unlock()
	err := cmd.Wait()
	p.mu.Lock()
	delete(p.running, cmd)
	p.mu.Unlock()
	stdout.flush()
	stderr.flush()
	r := result{
		stdout: strings.TrimSuffix(stdout.buf.String(), "\n"),
		stderr: strings.TrimSuffix(stderr.buf.String(), "\n"),
	}
	if err != nil {
		return r, fmt.Errorf("%w: running %q:\n%s\n%s", err, s.command, r.stdout, r.stderr)
	}
	return r, nil
}

// ---------------------------------------------------------------------------
// assetPaths / archivePaths globbing (gobwas/glob-like: `*` excludes `/`, `**` includes it, `!` excludes)

func globToRegexp(g string) (*regexp.Regexp, error) {
	var sb strings.Builder
	sb.WriteString("^")
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch c {
		case '*':
			if i+1 < len(g) && g[i+1] == '*' {
				sb.WriteString(".*")
				i++
			} else {
				sb.WriteString("[^/]*")
			}
		case '?':
			sb.WriteString("[^/]")
		case '{':
			sb.WriteString("(?:")
		case '}':
			sb.WriteString(")")
		case ',':
			sb.WriteString("|")
		case '[', ']':
			sb.WriteByte(c)
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	sb.WriteString("$")
	return regexp.Compile(sb.String())
}

func matchPaths(dir string, patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	type rule struct {
		re      *regexp.Regexp
		exclude bool
	}
	var rules []rule
	for _, pat := range patterns {
		r := rule{}
		if strings.HasPrefix(pat, "!") {
			r.exclude = true
			pat = pat[1:]
		}
		re, err := globToRegexp(pat)
		if err != nil {
			return nil, fmt.Errorf("invalid glob %q: %w", pat, err)
		}
		r.re = re
		rules = append(rules, r)
	}
	if dir == "" {
		dir = "."
	}
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		keep := false
		for _, r := range rules {
			if r.re.MatchString(rel) {
				keep = !r.exclude
			}
		}
		if keep {
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}

func addAssets(out resource.PropertyMap, s spec) error {
	base := s.dir
	if base == "" {
		base, _ = os.Getwd()
	}
	if paths, err := matchPaths(base, s.assetPaths); err != nil {
		return err
	} else if len(s.assetPaths) > 0 {
		assets := resource.PropertyMap{}
		for _, rel := range paths {
			a, err := asset.FromPath(filepath.Join(base, filepath.FromSlash(rel)))
			if err != nil {
				return err
			}
			assets[resource.PropertyKey(rel)] = resource.NewAssetProperty(a)
		}
		out["assets"] = resource.NewObjectProperty(assets)
	}
	if paths, err := matchPaths(base, s.archivePath); err != nil {
		return err
	} else if len(s.archivePath) > 0 {
		members := map[string]any{}
		for _, rel := range paths {
			a, err := asset.FromPath(filepath.Join(base, filepath.FromSlash(rel)))
			if err != nil {
				return err
			}
			members[rel] = a
		}
		ar, err := archive.FromAssets(members)
		if err != nil {
			return err
		}
		out["archive"] = resource.NewArchiveProperty(ar)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Resource lifecycle

func inputsOnly(m resource.PropertyMap) resource.PropertyMap {
	return pick(m, commandInputs)
}

func anySecret(m resource.PropertyMap) bool {
	for _, v := range m {
		if v.ContainsSecrets() {
			return true
		}
	}
	return false
}

// outputs builds the resource state: the inputs plus stdout/stderr (secret if any input was secret).
func outputs(inputs resource.PropertyMap, r *result, s spec) (resource.PropertyMap, error) {
	out := inputs.Copy()
	wrap := func(v resource.PropertyValue) resource.PropertyValue {
		if anySecret(inputs) {
			return resource.MakeSecret(v)
		}
		return v
	}
	if r == nil {
		out["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		out["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		if len(s.assetPaths) > 0 {
			out["assets"] = resource.MakeComputed(resource.NewStringProperty(""))
		}
		if len(s.archivePath) > 0 {
			out["archive"] = resource.MakeComputed(resource.NewStringProperty(""))
		}
		return out, nil
	}
	out["stdout"] = wrap(resource.NewStringProperty(r.stdout))
	out["stderr"] = wrap(resource.NewStringProperty(r.stderr))
	return out, addAssets(out, s)
}

func previousEnv(old resource.PropertyMap, s spec) []string {
	if !s.addPrevious || old == nil {
		return nil
	}
	so, _ := getString(old, "stdout")
	se, _ := getString(old, "stderr")
	return []string{"PULUMI_COMMAND_STDOUT=" + so, "PULUMI_COMMAND_STDERR=" + se}
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if isRemote(urnType(req.GetUrn())) {
		return p.remoteCheck(req)
	}
	if t := urnType(req.GetUrn()); t != tokCommand {
		return nil, unsupported(t)
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	if _, err := readSpec(news, "create"); err != nil && !news.ContainsUnknowns() {
		failures = append(failures, &pulumirpc.CheckFailure{Reason: err.Error()})
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if isRemote(urnType(req.GetUrn())) {
		return p.remoteDiff(req)
	}
	olds, news, err := diffInputs(req)
	if err != nil {
		return nil, err
	}
	return diffKeys(olds, news, commandInputs, false), nil
}

// diffInputs: the resource's last inputs (its old outputs where the engine sent no old inputs)
// and its new ones.
func diffInputs(req *pulumirpc.DiffRequest) (olds, news resource.PropertyMap, err error) {
	if olds, err = unmarshal(req.GetOldInputs()); err != nil {
		return nil, nil, err
	}
	if len(olds) == 0 {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, nil, err
		}
	}
	if news, err = unmarshal(req.GetNews()); err != nil {
		return nil, nil, err
	}
	return olds, news, nil
}

// updateInputs: the resource's current state and its new inputs.
func updateInputs(req *pulumirpc.UpdateRequest) (olds, news resource.PropertyMap, err error) {
	if olds, err = unmarshal(req.GetOlds()); err != nil {
		return nil, nil, err
	}
	if news, err = unmarshal(req.GetNews()); err != nil {
		return nil, nil, err
	}
	return olds, news, nil
}

// diffKeys compares the inputs named by keys. A changed `triggers` replaces the resource unless
// it has an update command (given, still unknown, or alwaysUpdates: CopyToRemote copies again).
func diffKeys(olds, news resource.PropertyMap, keys []string, alwaysUpdates bool) *pulumirpc.DiffResponse {
	update, _ := getString(news, "update")
	hasUpdate := alwaysUpdates || update != "" || news["update"].ContainsUnknowns()
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var changed, replaces []string
	for _, k := range keys {
		key := resource.PropertyKey(k)
		o, hasOld := olds[key]
		n, hasNew := news[key]
		if (!hasOld && !hasNew) || (hasOld && hasNew && o.DeepEquals(n) && !n.ContainsUnknowns()) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if k == "triggers" && !hasUpdate {
			kind++ // ADD->ADD_REPLACE, DELETE->DELETE_REPLACE, UPDATE->UPDATE_REPLACE
			replaces = append(replaces, k)
		}
		changed = append(changed, k)
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: detailed, Diffs: changed, Replaces: replaces}
	if len(changed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if isRemote(urnType(req.GetUrn())) {
		return p.remoteCreate(ctx, req)
	}
	if t := urnType(req.GetUrn()); t != tokCommand {
		return nil, unsupported(t)
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs = inputsOnly(inputs)
	id := ""
	if !req.GetPreview() {
		if id, err = resource.NewUniqueHex(urnName(req.GetUrn())+"-", 8, 0); err != nil {
			return nil, err
		}
	}
	if req.GetPreview() {
		s, _ := readSpec(inputs, "create")
		out, err := outputs(inputs, nil, s)
		if err != nil {
			return nil, err
		}
		props, err := marshal(out)
		return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
	}
	s, err := readSpec(inputs, "create")
	if err != nil {
		return nil, err
	}
	r := &result{}
	if s.command != "" {
		res, err := p.run(ctx, req.GetUrn(), s, nil)
		if err != nil {
			return nil, err
		}
		r = &res
	}
	out, err := outputs(inputs, r, s)
	if err != nil {
		return nil, err
	}
	props, err := marshal(out)
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if isRemote(urnType(req.GetUrn())) {
		return p.remoteUpdate(ctx, req)
	}
	if t := urnType(req.GetUrn()); t != tokCommand {
		return nil, unsupported(t)
	}
	olds, inputs, err := updateInputs(req)
	if err != nil {
		return nil, err
	}
	inputs = inputsOnly(inputs)
	key := "update"
	if u, _ := getString(inputs, "update"); u == "" && !(inputs["update"].ContainsUnknowns()) {
		key = "create"
	}
	s, serr := readSpec(inputs, key)
	if req.GetPreview() {
		out, err := outputs(inputs, nil, s)
		if err != nil {
			return nil, err
		}
		props, err := marshal(out)
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	if serr != nil {
		return nil, serr
	}
	r := &result{}
	if s.command != "" {
		res, err := p.run(ctx, req.GetUrn(), s, previousEnv(olds, s))
		if err != nil {
			return nil, err
		}
		r = &res
	}
	out, err := outputs(inputs, r, s)
	if err != nil {
		return nil, err
	}
	props, err := marshal(out)
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if isRemote(urnType(req.GetUrn())) {
		return p.remoteDelete(ctx, req)
	}
	if t := urnType(req.GetUrn()); t != tokCommand {
		return nil, unsupported(t)
	}
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	s, err := readSpec(olds, "delete")
	if err != nil {
		return nil, err
	}
	if s.command != "" {
		if _, err := p.run(ctx, req.GetUrn(), s, previousEnv(olds, s)); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if t := urnType(req.GetUrn()); t != tokCommand && !isRemote(t) {
		return nil, unsupported(t)
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// ---------------------------------------------------------------------------
// Invokes

func (p *provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != tokRun {
		return nil, unsupported(req.GetTok())
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	s, err := readSpec(args, "command")
	if err != nil {
		return nil, err
	}
	if s.command == "" {
		return &pulumirpc.InvokeResponse{Failures: []*pulumirpc.CheckFailure{
			{Property: "command", Reason: "missing required property 'command'"},
		}}, nil
	}
	res, err := p.run(ctx, "", s, nil)
	if err != nil {
		return nil, err
	}
	out := args.Copy()
	out["stdout"] = resource.NewStringProperty(res.stdout)
	out["stderr"] = resource.NewStringProperty(res.stderr)
	if err := addAssets(out, s); err != nil {
		return nil, err
	}
	props, err := marshal(out)
	return &pulumirpc.InvokeResponse{Return: props}, err
}
