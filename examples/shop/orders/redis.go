package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// Redis is the optional cache. No client library is needed to ask whether it is alive:
// PING in RESP is one line out and one line back.
type Redis struct {
	Addr string
}

// Ping sends PING and expects +PONG.
func (r *Redis) Ping() error {
	conn, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected reply to PING: %q", line)
	}
	return nil
}

// Status is "up", "down" or "not configured" (a nil *Redis): the service degrades, never fails.
func (r *Redis) Status() string {
	if r == nil {
		return "not configured"
	}
	if err := r.Ping(); err != nil {
		return "down"
	}
	return "up"
}
