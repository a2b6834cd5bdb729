package main

import (
	"slices"
	"sort"
	"testing"

	"github.com/pollerd/pollerd/internal/config"
)

// The channel registry has two halves, config's (which kinds exist) and
// this package's (how each is built): every kind has a constructor and
// every constructor a kind.
func TestChannelKinds_InStep(t *testing.T) {
	var built []string
	for k := range channelKinds {
		built = append(built, k)
	}
	sort.Strings(built)
	if kinds := config.ChannelKinds(); !slices.Equal(built, kinds) {
		t.Fatalf("constructors for %v, config kinds %v: keep them in step", built, kinds)
	}
}
