// Command plugin-version prints the version that a Pulumi plugin binary
// reports through the GetPluginInfo RPC. scripts/toolchain.sh uses it to
// decide whether a pulumi-language-nodejs or pulumi-resource-command found on
// PATH has the pinned version (official plugins have no --version flag).
//
// Usage: plugin-version language|resource /path/to/plugin
//
// The plugin is started without an engine address, its port is read from the
// first line of its stdout, GetPluginInfo is called, and the plugin is killed.
// Prints the version without a leading "v"; exits non-zero on any failure.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "language" && os.Args[1] != "resource") {
		fmt.Fprintln(os.Stderr, "usage: plugin-version language|resource /path/to/plugin")
		os.Exit(2)
	}
	v, err := probe(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugin-version: %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	fmt.Println(strings.TrimPrefix(v, "v"))
}

func probe(kind, path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = os.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	var port int
	select {
	case line := <-lines:
		if port, err = strconv.Atoi(line); err != nil {
			return "", fmt.Errorf("expected a port number on stdout, got %q", line)
		}
	case <-ctx.Done():
		return "", errors.New("timed out waiting for the plugin's port")
	}

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var info *pulumirpc.PluginInfo
	if kind == "language" {
		info, err = pulumirpc.NewLanguageRuntimeClient(conn).GetPluginInfo(ctx, &emptypb.Empty{}, grpc.WaitForReady(true))
	} else {
		info, err = pulumirpc.NewResourceProviderClient(conn).GetPluginInfo(ctx, &emptypb.Empty{}, grpc.WaitForReady(true))
	}
	if err != nil {
		return "", err
	}
	if info.GetVersion() == "" {
		return "", errors.New("plugin reported an empty version")
	}
	return info.GetVersion(), nil
}
