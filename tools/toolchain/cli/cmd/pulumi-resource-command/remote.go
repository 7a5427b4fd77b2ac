package main

// command:remote:Command and command:remote:CopyToRemote over SSH, with the inputs of
// @pulumi/command 1.2.1 this project uses:
//
//   - connection: host, port (22), user (root), privateKey, privateKeyPassword, password,
//     hostKey (pinned: the server's key must match, else any key is accepted, as the official
//     provider does), dialErrorLimit (10), perDialTimeout (15 s), proxy (a bastion, same fields);
//   - Command: create / update / delete, stdin, environment (sent with the SSH "env" request),
//     logging, triggers (replace), addPreviousOutputInEnv, stdout / stderr outputs;
//   - CopyToRemote: source (a FileAsset), remotePath, triggers; the file is streamed into
//     `cat > remotePath` on the server (no SFTP subsystem needed).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	tokRemoteCommand = "command:remote:Command"
	tokCopyToRemote  = "command:remote:CopyToRemote"
)

var remoteCommandInputs = []string{
	"addPreviousOutputInEnv", "connection", "create", "delete", "environment", "logging", "stdin", "triggers", "update",
}

var copyToRemoteInputs = []string{"connection", "remotePath", "source", "triggers"}

func isRemote(tok string) bool { return tok == tokRemoteCommand || tok == tokCopyToRemote }

func remoteInputs(tok string) []string {
	if tok == tokCopyToRemote {
		return copyToRemoteInputs
	}
	return remoteCommandInputs
}

func pick(m resource.PropertyMap, keys []string) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, k := range keys {
		if v, ok := m[resource.PropertyKey(k)]; ok && !v.IsNull() {
			out[resource.PropertyKey(k)] = v
		}
	}
	return out
}

type sshConn struct {
	host, user, password, privateKey, privateKeyPassword, hostKey string
	port, dialErrorLimit, perDialTimeout                          int
	proxy                                                         *sshConn
}

func getInt(m resource.PropertyMap, k string, def int) (int, error) {
	return getScalar(m, k, def, "a number", resource.PropertyValue.IsNumber,
		func(v resource.PropertyValue) int { return int(v.NumberValue()) })
}

func readConn(v resource.PropertyValue, what string) (*sshConn, error) {
	v = plain(v)
	if !v.IsObject() {
		return nil, fmt.Errorf("%s: expected an object", what)
	}
	m := v.ObjectValue()
	c := &sshConn{}
	var errs []error
	var err error
	for k, dst := range map[string]*string{"host": &c.host, "user": &c.user, "password": &c.password,
		"privateKey": &c.privateKey, "privateKeyPassword": &c.privateKeyPassword, "hostKey": &c.hostKey} {
		*dst, err = getString(m, k)
		errs = append(errs, err)
	}
	c.port, err = getInt(m, "port", 22)
	errs = append(errs, err)
	c.dialErrorLimit, err = getInt(m, "dialErrorLimit", 10)
	errs = append(errs, err)
	c.perDialTimeout, err = getInt(m, "perDialTimeout", 15)
	errs = append(errs, err)
	if c.user == "" {
		c.user = "root"
	}
	if c.host == "" {
		errs = append(errs, fmt.Errorf("%s.host is required", what))
	}
	if p, ok := m["proxy"]; ok && !plain(p).IsNull() {
		c.proxy, err = readConn(p, what+".proxy")
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func (c *sshConn) config() (*ssh.ClientConfig, error) {
	var auth []ssh.AuthMethod
	if c.privateKey != "" {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.privateKey), []byte(c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.privateKey))
		}
		if err != nil {
			return nil, fmt.Errorf("connection to %s: private key: %w", c.host, err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if c.password != "" {
		auth = append(auth, ssh.Password(c.password))
	}
	hostKeyCallback := ssh.InsecureIgnoreHostKey() //nolint:gosec // as the official provider without hostKey
	var algorithms []string
	if c.hostKey != "" {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.hostKey))
		if err != nil {
			return nil, fmt.Errorf("connection to %s: hostKey: %w", c.host, err)
		}
		hostKeyCallback = ssh.FixedHostKey(key)
		// ask the server for the pinned key's kind (it may hold several host keys)
		if key.Type() == ssh.KeyAlgoRSA {
			algorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		} else {
			algorithms = []string{key.Type()}
		}
	}
	return &ssh.ClientConfig{User: c.user, Auth: auth, HostKeyCallback: hostKeyCallback, HostKeyAlgorithms: algorithms,
		Timeout: time.Duration(c.perDialTimeout) * time.Second}, nil
}

// dial connects, through the proxy when one is given, retrying up to dialErrorLimit times.
func (c *sshConn) dial(ctx context.Context) (*ssh.Client, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(c.host, strconv.Itoa(c.port))
	var last error
	for attempt := 1; attempt <= max(1, c.dialErrorLimit); attempt++ {
		var client *ssh.Client
		if c.proxy != nil {
			var bastion *ssh.Client
			if bastion, last = c.proxy.dial(ctx); last == nil {
				var nc net.Conn
				if nc, last = bastion.Dial("tcp", addr); last == nil {
					var cc ssh.Conn
					var chans <-chan ssh.NewChannel
					var reqs <-chan *ssh.Request
					if cc, chans, reqs, last = ssh.NewClientConn(nc, addr, cfg); last == nil {
						client = ssh.NewClient(cc, chans, reqs)
					}
				}
				if last != nil {
					_ = bastion.Close()
				}
			}
		} else {
			client, last = ssh.Dial("tcp", addr, cfg)
		}
		if last == nil {
			return client, nil
		}
		if strings.Contains(last.Error(), "unable to authenticate") || strings.Contains(last.Error(), "host key mismatch") {
			break // retrying does not help
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
		}
	}
	return nil, fmt.Errorf("ssh %s@%s: %w", c.user, addr, last)
}

func (p *provider) runRemote(ctx context.Context, urn string, c *sshConn, command, stdin string, env map[string]string, extraEnv []string, logging string) (result, error) {
	client, err := c.dial(ctx)
	if err != nil {
		return result{}, err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return result{}, err
	}
	defer session.Close()
	for k, v := range env {
		if err := session.Setenv(k, v); err != nil {
			return result{}, fmt.Errorf("environment %s: the server refused it (AcceptEnv in sshd_config): %w", k, err)
		}
	}
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		_ = session.Setenv(k, v)
	}
	if stdin != "" {
		session.Stdin = strings.NewReader(stdin)
	}
	stdout, stderr := &lineLogger{}, &lineLogger{}
	if logging == "stdout" || logging == "stdoutAndStderr" {
		stdout.emit = func(line string) { p.log(ctx, urn, line, pulumirpc.LogSeverity_INFO) }
	}
	if logging == "stderr" || logging == "stdoutAndStderr" {
		stderr.emit = func(line string) { p.log(ctx, urn, line, pulumirpc.LogSeverity_INFO) }
	}
	session.Stdout, session.Stderr = stdout, stderr
	err = session.Run(command)
	stdout.flush()
	stderr.flush()
	r := result{stdout: strings.TrimSuffix(stdout.buf.String(), "\n"), stderr: strings.TrimSuffix(stderr.buf.String(), "\n")}
	if err != nil {
		return r, fmt.Errorf("%w: running %q on %s:\n%s\n%s", err, command, c.host, r.stdout, r.stderr)
	}
	return r, nil
}

func shellQuoteGo(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// copyToRemote streams a local file into `cat > remotePath` on the server.
func (p *provider) copyToRemote(ctx context.Context, urn string, inputs resource.PropertyMap) error {
	c, err := readConn(inputs["connection"], "connection")
	if err != nil {
		return err
	}
	remotePath, err := getString(inputs, "remotePath")
	if err != nil || remotePath == "" {
		return errors.Join(err, errors.New("remotePath is required"))
	}
	src := plain(inputs["source"])
	if !src.IsAsset() || src.AssetValue().Path == "" {
		return errors.New("source: this stand-in copies file assets (pulumi.asset.FileAsset) only")
	}
	f, err := os.Open(src.AssetValue().Path)
	if err != nil {
		return err
	}
	defer f.Close()
	client, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	session.Stdin = f
	out, err := session.CombinedOutput("umask 077 && cat > " + shellQuoteGo(remotePath))
	if err != nil {
		return fmt.Errorf("copying %s to %s:%s: %w: %s", src.AssetValue().Path, c.host, remotePath, err, out)
	}
	return nil
}

func (p *provider) remoteApply(ctx context.Context, urn string, inputs, olds resource.PropertyMap, key string, preview bool) (resource.PropertyMap, error) {
	tok := urnType(urn)
	out := inputs.Copy()
	if tok == tokCopyToRemote {
		if !preview {
			if err := p.copyToRemote(ctx, urn, inputs); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	wrap := func(v resource.PropertyValue) resource.PropertyValue {
		if anySecret(inputs) {
			return resource.MakeSecret(v)
		}
		return v
	}
	if preview {
		out["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		out["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		return out, nil
	}
	command, err := getString(inputs, key)
	if err != nil {
		return nil, err
	}
	if key == "update" && command == "" {
		if command, err = getString(inputs, "create"); err != nil {
			return nil, err
		}
	}
	r := result{}
	if command != "" {
		c, err := readConn(inputs["connection"], "connection")
		if err != nil {
			return nil, err
		}
		stdin, _ := getString(inputs, "stdin")
		env, _ := getStringMap(inputs, "environment")
		logging, _ := getString(inputs, "logging")
		if logging == "" {
			logging = "stdoutAndStderr"
		}
		addPrevious, _ := getBool(inputs, "addPreviousOutputInEnv", true)
		if r, err = p.runRemote(ctx, urn, c, command, stdin, env, previousEnv(olds, spec{addPrevious: addPrevious}), logging); err != nil {
			return nil, err
		}
	}
	out["stdout"] = wrap(resource.NewStringProperty(r.stdout))
	out["stderr"] = wrap(resource.NewStringProperty(r.stderr))
	return out, nil
}

func (p *provider) remoteCheck(req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	if c, ok := news["connection"]; !ok || (!c.ContainsUnknowns() && plain(c).IsNull()) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "connection", Reason: "connection is required"})
	} else if !c.ContainsUnknowns() {
		if _, err := readConn(c, "connection"); err != nil {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "connection", Reason: err.Error()})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *provider) remoteDiff(req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	tok := urnType(req.GetUrn())
	olds, news, err := diffInputs(req)
	if err != nil {
		return nil, err
	}
	return diffKeys(olds, news, remoteInputs(tok), tok == tokCopyToRemote), nil
}

func (p *provider) remoteCreate(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs = pick(inputs, remoteInputs(urnType(req.GetUrn())))
	id := ""
	if !req.GetPreview() {
		if id, err = resource.NewUniqueHex(urnName(req.GetUrn())+"-", 8, 0); err != nil {
			return nil, err
		}
	}
	out, err := p.remoteApply(ctx, req.GetUrn(), inputs, nil, "create", req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := marshal(out)
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

func (p *provider) remoteUpdate(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, inputs, err := updateInputs(req)
	if err != nil {
		return nil, err
	}
	inputs = pick(inputs, remoteInputs(urnType(req.GetUrn())))
	out, err := p.remoteApply(ctx, req.GetUrn(), inputs, olds, "update", req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := marshal(out)
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

func (p *provider) remoteDelete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if urnType(req.GetUrn()) == tokCopyToRemote {
		return &emptypb.Empty{}, nil // the copied file stays, as with the official provider
	}
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if del, _ := getString(olds, "delete"); del != "" {
		if _, err := p.remoteApply(ctx, req.GetUrn(), olds, olds, "delete", false); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}
