package config

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadHashed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pollerd.yaml")
	body := []byte("targets:\n  - name: api\n    url: tcp://127.0.0.1:9\n")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, hash, err := LoadHashed(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if want := hex.EncodeToString(sum[:]); hash != want {
		t.Errorf("hash = %s, want %s", hash, want)
	}
	if len(cfg.Targets) != 1 || cfg.Targets[0].Name != "api" {
		t.Errorf("targets = %+v", cfg.Targets)
	}

	t.Run("invalid config still hashed", func(t *testing.T) {
		bad := []byte("targets:\n  - name: API!\n")
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, hash, err := LoadHashed(path, nil)
		if len(Problems(err)) == 0 {
			t.Fatalf("err = %v, want problems", err)
		}
		sum := sha256.Sum256(bad)
		if hash != hex.EncodeToString(sum[:]) {
			t.Errorf("hash of the bad file not returned")
		}
	})

	t.Run("missing file", func(t *testing.T) {
		if _, _, err := LoadHashed(filepath.Join(dir, "nope.yaml"), nil); err == nil {
			t.Fatal("no error")
		}
	})
}
