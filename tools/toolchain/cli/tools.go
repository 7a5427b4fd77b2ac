//go:build tools

// Package tools pins the Pulumi CLI's main package so that `go mod tidy` keeps
// all of its dependencies in go.mod and go.sum. tools/toolchain.sh builds it
// from this module with
//
//	go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
//
// See docs/toolchain.md.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
