// Command pulumi-language-nodejs is a small stand-in for Pulumi's Node.js
// language host, written for this project.
//
// Why it exists: the official language host lives in the Go module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which has
// no tags and whose pseudo-versions the Go module proxy reachable from this
// project's machines does not serve (403 "This module version is not
// available"). Without a language host the Pulumi CLI cannot run a
// TypeScript program at all. See docs/toolchain.md.
//
// What it does: it speaks the LanguageRuntime gRPC protocol of the Pulumi
// engine (from github.com/pulumi/pulumi/sdk/v3, the same version as the CLI)
// and runs programs through the entry point that the npm package
// @pulumi/pulumi ships for exactly this purpose, node_modules/@pulumi/pulumi/
// cmd/run. Everything that happens inside the program (TypeScript loading via
// the SDK's vendored ts-node, resource registration, config) is done by the
// SDK itself, as with the official host. It supports: Handshake,
// GetPluginInfo, GetRequiredPlugins/GetRequiredPackages (from package.json
// dependencies), Run, InstallDependencies (npm/yarn/pnpm/bun install),
// GetProgramDependencies, About, RuntimeOptionsPrompts and Cancel. Code
// generation (GenerateProject/Program/Package, Pack, Link), RunPlugin (Node.js
// component providers) and Template are not implemented and answer
// Unimplemented, which the engine reports as such.
//
// Whenever the official binary is installed on PATH, scripts/toolchain.sh
// uses it instead of this one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// bailExitCode is the exit code that @pulumi/pulumi/cmd/run uses after it has
// already reported a user-actionable error through the engine
// (nodeJSProcessExitedAfterLoggingUserActionableMessage in the SDK).
const bailExitCode = 32

func main() {
	// The engine starts language hosts as `pulumi-language-nodejs [flags] <engine-address>`;
	// the flags below are the ones it may pass. Unknown flags are an error, as with any Go flag parser.
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	tracing := fs.String("tracing", "", "emit tracing to a Zipkin-compatible endpoint (passed on to the program)")
	_ = fs.Bool("logtostderr", false, "ignored (accepted for compatibility)")
	_ = fs.Bool("logflow", false, "ignored (accepted for compatibility)")
	_ = fs.Int("v", 0, "ignored (accepted for compatibility)")
	_ = fs.String("root", "", "ignored (accepted for compatibility)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	var engineAddress string
	if args := fs.Args(); len(args) > 0 {
		engineAddress = args[len(args)-1]
	}

	h := &host{engineAddress: engineAddress, tracing: *tracing, running: map[*exec.Cmd]struct{}{}}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "error: language host RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	running       map[*exec.Cmd]struct{}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// ---------------------------------------------------------------------------
// Program options (the `runtime.options` block of Pulumi.yaml)

type options struct {
	typescript     bool
	nodeargs       []string
	tsconfig       string
	packagemanager string
}

func parseOptions(s *structpb.Struct) options {
	o := options{typescript: true}
	if s == nil {
		return o
	}
	m := s.AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = strings.Fields(v)
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.packagemanager = v
	}
	return o
}

// programDir returns the directory holding the program (where Pulumi.yaml's main points).
func programDir(info *pulumirpc.ProgramInfo, fallbacks ...string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	for _, f := range fallbacks {
		if f != "" {
			return f
		}
	}
	wd, _ := os.Getwd()
	return wd
}

// ---------------------------------------------------------------------------
// package.json handling

type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	Pulumi               struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   []byte `json:"value"` // base64 in JSON
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &p, nil
}

// resolvePackage finds `name` the way Node.js does: in node_modules of `from` or any parent directory.
func resolvePackage(from, name string) (string, bool) {
	dir := from
	for {
		candidate := filepath.Join(dir, "node_modules", filepath.FromSlash(name))
		if st, err := os.Stat(filepath.Join(candidate, "package.json")); err == nil && !st.IsDir() {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// findProjectRoot walks up from dir to the nearest directory holding package.json.
func findProjectRoot(dir string) (string, *packageJSON) {
	d := dir
	for {
		if p, err := readPackageJSON(filepath.Join(d, "package.json")); err == nil {
			return d, p
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir, nil
		}
		d = parent
	}
}

func sortedKeys(maps ...map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// pluginName turns an npm package name into a Pulumi plugin name, as Pulumi does:
// "@pulumi/command" -> "command", "@scope/x" -> "scope/x".
func pluginName(p *packageJSON) string {
	if p.Pulumi.Name != "" {
		return p.Pulumi.Name
	}
	if strings.HasPrefix(p.Name, "@pulumi/") {
		return strings.TrimPrefix(p.Name, "@pulumi/")
	}
	return strings.TrimPrefix(p.Name, "@")
}

func vPrefixed(v string) string {
	if v == "" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

// requiredPackages walks the dependency graph that starts at the project's package.json and returns every
// package that declares `"pulumi": {"resource": true}`.
func requiredPackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	root, rootPkg := findProjectRoot(dir)
	type item struct{ from, name string }
	var queue []item
	if rootPkg != nil {
		for _, n := range sortedKeys(rootPkg.Dependencies, rootPkg.DevDependencies, rootPkg.OptionalDependencies) {
			queue = append(queue, item{root, n})
		}
	} else {
		// No package.json: fall back to every package directly under node_modules.
		entries, _ := os.ReadDir(filepath.Join(root, "node_modules"))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "@") {
				sub, _ := os.ReadDir(filepath.Join(root, "node_modules", e.Name()))
				for _, s := range sub {
					queue = append(queue, item{root, e.Name() + "/" + s.Name()})
				}
			} else if !strings.HasPrefix(e.Name(), ".") {
				queue = append(queue, item{root, e.Name()})
			}
		}
	}

	visited := map[string]bool{}
	seen := map[string]bool{}
	var out []*pulumirpc.PackageDependency
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		pkgDir, ok := resolvePackage(it.from, it.name)
		if !ok {
			continue // not installed (e.g. an optional dependency); npm would have complained already
		}
		real, err := filepath.EvalSymlinks(pkgDir)
		if err != nil {
			real = pkgDir
		}
		if visited[real] {
			continue
		}
		visited[real] = true
		p, err := readPackageJSON(filepath.Join(pkgDir, "package.json"))
		if err != nil {
			return nil, err
		}
		if p.Pulumi.Resource {
			v := p.Pulumi.Version
			if v == "" {
				v = p.Version
			}
			dep := &pulumirpc.PackageDependency{
				Name:    pluginName(p),
				Kind:    "resource",
				Version: vPrefixed(v),
				Server:  p.Pulumi.Server,
			}
			if pz := p.Pulumi.Parameterization; pz != nil {
				dep.Parameterization = &pulumirpc.PackageParameterization{
					Name: pz.Name, Version: vPrefixed(pz.Version), Value: pz.Value,
				}
			}
			key := dep.Name + "@" + dep.Version + "@" + dep.Server
			if dep.Parameterization != nil {
				key += "@" + dep.Parameterization.Name + "@" + dep.Parameterization.Version
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, dep)
			}
		}
		for _, n := range sortedKeys(p.Dependencies, p.OptionalDependencies, p.PeerDependencies) {
			queue = append(queue, item{pkgDir, n})
		}
	}
	return out, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := requiredPackages(programDir(req.GetInfo()))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	//nolint:staticcheck // Program/Pwd are the deprecated fallbacks for old engines.
	pkgs, err := requiredPackages(programDir(req.GetInfo(), req.GetProgram(), req.GetPwd()))
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, p := range pkgs {
		if p.Parameterization != nil {
			continue // parameterized packages are only expressible through GetRequiredPackages
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// ---------------------------------------------------------------------------
// Run

func findRunPath(dir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		return p, nil
	}
	pkg, ok := resolvePackage(dir, "@pulumi/pulumi")
	if ok {
		run := filepath.Join(pkg, "cmd", "run")
		if _, err := os.Stat(filepath.Join(run, "index.js")); err == nil {
			return run, nil
		}
	}
	return "", errors.New("it looks like the Pulumi SDK has not been installed. Have you run npm install or yarn install?")
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	opts := parseOptions(info.GetOptions())

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	runPath, err := findRunPath(dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	h.mu.Lock()
	engineAddress := h.engineAddress
	h.mu.Unlock()

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k+"="+v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", dir)
	add("root-directory", info.GetRootDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetQueryMode() {
		args = append(args, "--query-mode")
	}
	if req.GetParallel() > 0 {
		add("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	add("tracing", h.tracing)
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram() //nolint:staticcheck // fallback for old engines
	}
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{} // the SDK expects a JSON object, never null
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(opts.typescript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.Command(nodeBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("problem executing program (could not run node): %w", err)
	}
	h.track(cmd, true)
	defer h.track(cmd, false)
	err = cmd.Wait()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited due to signal: %v", ws.Signal())}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	}
	return &pulumirpc.RunResponse{Error: err.Error()}, nil
}

func (h *host) track(cmd *exec.Cmd, add bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if add {
		h.running[cmd] = struct{}{}
	} else {
		delete(h.running, cmd)
	}
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
	return &emptypb.Empty{}, nil
}

// ---------------------------------------------------------------------------
// Dependencies, about, prompts

func packageManager(dir string, opts options) string {
	if opts.packagemanager != "" && opts.packagemanager != "auto" {
		return opts.packagemanager
	}
	root, _ := findProjectRoot(dir)
	for _, c := range []struct{ file, pm string }{
		{"pnpm-lock.yaml", "pnpm"}, {"yarn.lock", "yarn"}, {"bun.lockb", "bun"}, {"bun.lock", "bun"},
	} {
		if _, err := os.Stat(filepath.Join(root, c.file)); err == nil {
			return c.pm
		}
	}
	return "npm"
}

type streamWriter struct {
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
	mu     *sync.Mutex
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append([]byte(nil), p...)
	r := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.stderr {
		r = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.send(r); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	dir := programDir(info, req.GetDirectory()) //nolint:staticcheck // fallback for old engines
	root, _ := findProjectRoot(dir)
	pm := packageManager(dir, parseOptions(info.GetOptions()))
	bin, err := exec.LookPath(pm)
	if err != nil {
		return fmt.Errorf("could not find %s on the $PATH: %w", pm, err)
	}
	var mu sync.Mutex
	cmd := exec.CommandContext(server.Context(), bin, "install")
	cmd.Dir = root
	cmd.Stdout = streamWriter{send: server.Send, mu: &mu}
	cmd.Stderr = streamWriter{send: server.Send, stderr: true, mu: &mu}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s install failed in %s: %w", pm, root, err)
	}
	return nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetProgram(), req.GetPwd()) //nolint:staticcheck
	root, p := findProjectRoot(dir)
	if p == nil {
		return nil, fmt.Errorf("no package.json found in %s or its parents", dir)
	}
	var deps []*pulumirpc.DependencyInfo
	for _, name := range sortedKeys(p.Dependencies, p.DevDependencies) {
		v := ""
		if d, ok := resolvePackage(root, name); ok {
			if dp, err := readPackageJSON(filepath.Join(d, "package.json")); err == nil {
				v = dp.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: v})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
		Metadata:   map[string]string{"languageHost": "dhis2-infra stand-in (scripts/toolchain)"},
	}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) RunPlugin(*pulumirpc.RunPluginRequest, grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	return status.Error(codes.Unimplemented,
		"RunPlugin (Node.js component providers) is not implemented by the stand-in language host")
}

var _ io.Writer = streamWriter{}
