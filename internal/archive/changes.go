package archive

import "fmt"

// ChangeKind is how a path differs from the lower layers. The values are
// Docker's (the Kind field of GET /containers/{id}/changes).
type ChangeKind int

const (
	ChangeModify ChangeKind = iota // "C": the path exists below and was changed or holds changes
	ChangeAdd                      // "A": the path is new
	ChangeDelete                   // "D": the path was deleted
)

// String returns the letter docker diff prints: "C", "A" or "D".
func (k ChangeKind) String() string {
	switch k {
	case ChangeModify:
		return "C"
	case ChangeAdd:
		return "A"
	case ChangeDelete:
		return "D"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one line of docker diff.
type Change struct {
	Kind ChangeKind
	Path string // absolute in the container: "/etc/passwd"
}
