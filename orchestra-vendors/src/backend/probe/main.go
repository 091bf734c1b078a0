// orchestra-probe is the readiness check of an exported service, run by the container
// engine's healthcheck inside images that have no shell or HTTP client of their own:
//
//	orchestra-probe tcp HOST:PORT   a TCP connection is accepted
//	orchestra-probe http URL        a GET answers 2xx or 3xx (redirects are not followed)
//	orchestra-probe wait HOST:PORT  retries the tcp check every second until it passes
//
// `wait` is how a Kubernetes init container holds a pod until what it depends on answers.
//
// It exits 0 when the check passes and 1 when it fails, as Orchestra's own probes decide.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

const timeout = 2 * time.Second

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: orchestra-probe tcp HOST:PORT | http URL")
		os.Exit(2)
	}
	if os.Args[1] == "wait" {
		for check("tcp", os.Args[2]) != nil {
			time.Sleep(time.Second)
		}
		return
	}
	if err := check(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func check(kind, target string) error {
	switch kind {
	case "tcp":
		conn, err := net.DialTimeout("tcp", target, timeout)
		if err != nil {
			return err
		}
		return conn.Close()
	case "http":
		client := http.Client{
			Timeout: timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
		resp, err := client.Get(target)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("%s answered %s", target, resp.Status)
		}
		return nil
	default:
		return fmt.Errorf("unknown check %q: expected tcp or http", kind)
	}
}
