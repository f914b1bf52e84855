package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

// TestMain removes the binary built for the tests that run the real program.
func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// buildBinary builds this command once per test run and returns the path of the binary,
// for tests that run the real program (and kill it).
func buildBinary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "bcconnector-bin-")
		if binaryErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(binaryDir, "bcconnector")
		out, err := exec.Command(goTool, "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = err
			binaryPath = string(out)
		}
	})
	if binaryErr != nil {
		t.Fatalf("build the binary: %v\n%s", binaryErr, binaryPath)
	}
	return binaryPath
}

// runBinary runs the binary once with args (global flags first) and stdin, without a master
// key in the environment (the key file is used), and returns what it printed on standard
// output and standard error, failing the test when it exits with an error.
func runBinary(t testing.TB, bin, stdin string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("bcconnector %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes(), errb.Bytes()
}

// serveProcess is a `bcconnector serve` process.
type serveProcess struct {
	cmd     *exec.Cmd
	URL     string
	stderr  *testlog.Buffer
	stdout  *testlog.Buffer // every line it printed
	exited  chan struct{}   // closed when the process has exited
	waitErr error           // set before exited is closed
}

// startServe runs the binary with args (global flags, then `serve` and its flags) and
// waits for the address line (ServeAddressPrefix) on its standard output.
func startServe(t testing.TB, bin string, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, args...), stderr: &testlog.Buffer{}, stdout: &testlog.Buffer{}, exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.stdout.Write(append(sc.Bytes(), '\n'))
			if u, ok := strings.CutPrefix(sc.Text(), ServeAddressPrefix); ok {
				urls <- u
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.waitErr = p.cmd.Wait() // after the pipe is drained, as exec requires
		close(p.exited)
	}()
	select {
	case p.URL = <-urls:
	case <-p.exited:
		t.Fatalf("serve exited before listening: %v\n%s", p.waitErr, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve printed no address line within 60s\n%s", p.stderr.String())
	}
	return p
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits for the exit.
func (p *serveProcess) kill() {
	_ = p.cmd.Process.Kill() // an error means it has exited already
	<-p.exited
}

// stop sends SIGINT and waits for a clean exit.
func (p *serveProcess) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("serve exited with %v\n%s", p.waitErr, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve did not stop on SIGINT")
	}
}
