package main

// A pod's pause process runs in pause.c, before the Go runtime starts; cgo
// links it in.

import "C"
