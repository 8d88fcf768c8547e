package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBadEnvironmentIsAnError(t *testing.T) {
	t.Setenv("PARTNERD_CANCEL_CUTOFF", "ten minutes")
	t.Cleanup(func() { envProblems = nil })
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--db", t.TempDir() + "/x.db", "--addr", "127.0.0.1:0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "PARTNERD_CANCEL_CUTOFF") {
		t.Fatalf("err = %v, want one naming PARTNERD_CANCEL_CUTOFF", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage:") {
		t.Fatalf("err = %v, stderr %q", err, errOut.String())
	}
}
