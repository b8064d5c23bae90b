// Package exepages gives back what a process's start-up, or a burst of
// work, touched and no longer uses: its garbage, and the pages of its own
// executable (kemudi carries every role, kubectl included, and Go
// initialises every package of it at start). Small and without dependencies beyond x/sys, so that
// kemudi-supervisor uses it too.
package exepages
