package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// LoadHashed is Load that also returns the hex SHA-256 of the file's bytes,
// the very bytes it parsed: a reload shows which file is in force
// (/api/v1/status config.hash) without a second read racing an editor. The
// hash is of the file only; POLLERD_* overrides and ${VAR} values are not in
// it.
func LoadHashed(path string, lookup func(string) (string, bool)) (*Config, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("config %s: %w", path, err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, "", fmt.Errorf("open config: %w", err)
	}
	sum := sha256.Sum256(b)
	cfg, err := Parse(bytes.NewReader(b), filepath.Dir(abs), lookup)
	return cfg, hex.EncodeToString(sum[:]), err
}
