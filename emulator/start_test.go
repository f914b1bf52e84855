package emulator

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestStartDefaultCAFilePerRun: without StartOptions.CAFile each run writes its CA to a
// directory of its own (not a fixed name in the shared temp directory that another user
// could plant), two runs do not share it, and Close removes it.
func TestStartDefaultCAFilePerRun(t *testing.T) {
	t.Parallel()
	var files []string
	var pems [][]byte
	var servers []*Server
	for range 2 {
		s, err := Start(Config{}, StartOptions{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Dir(s.CAFile))
		if err != nil || fi.Mode().Perm() != 0o700 || filepath.Dir(filepath.Dir(s.CAFile)) != filepath.Clean(os.TempDir()) {
			t.Errorf("CA file %s: its directory is not a private one in the temp directory (%v %v)", s.CAFile, fi.Mode(), err)
		}
		files, pems = append(files, s.CAFile), append(pems, pem)
	}
	if files[0] == files[1] || bytes.Equal(pems[0], pems[1]) {
		t.Errorf("two runs share the CA file %s", files[0])
	}
	for i, s := range servers {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(filepath.Dir(files[i])); !os.IsNotExist(err) {
			t.Errorf("Close left %s: %v", filepath.Dir(files[i]), err)
		}
	}
}
