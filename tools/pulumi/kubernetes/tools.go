//go:build tools

// Package tools keeps the Kubernetes provider module required. Its main package embeds files
// upstream generates and does not publish, so `invoke engine.build` regenerates it under gen/
// (with upstream's generate.go, which needs pkg/v3/codegen/schema) and builds that.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
