// Command tput measures TCP throughput to an address: it writes -mb
// megabytes of zeros to it and prints MB/s (the receiver discards them,
// e.g. `nc -l -p 5001 > /dev/null` in a container behind a published
// port).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5001", "address to send to")
	mb := flag.Int("mb", 1024, "megabytes to send")
	flag.Parse()
	var conn net.Conn
	var err error
	for i := 0; i < 100; i++ { // the receiver may still be starting
		if conn, err = net.Dial("tcp", *addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tput:", err)
		os.Exit(1)
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for i := 0; i < *mb; i++ {
		if _, err := conn.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "tput:", err)
			os.Exit(1)
		}
	}
	conn.(*net.TCPConn).CloseWrite()
	// Wait for the receiver to close: everything was read.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	conn.Read(buf)
	el := time.Since(start)
	fmt.Printf("%.0f\n", float64(*mb)/el.Seconds())
}
