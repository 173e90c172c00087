// Runs a credential_process command through the AWS SDK for Go v2's processcreds provider.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

func main() {
	seconds, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: credproc SECONDS COMMAND")
		os.Exit(2)
	}
	provider := processcreds.NewProvider(os.Args[2], func(o *processcreds.Options) {
		o.Timeout = time.Duration(seconds) * time.Second
	})
	started := time.Now()
	creds, err := provider.Retrieve(context.Background())
	if err != nil {
		fmt.Printf("error after %.0fs: %v\n", time.Since(started).Seconds(), err)
		os.Exit(1)
	}
	fmt.Printf("ok %s\n", creds.AccessKeyID)
}
