package mountspec

import (
	"strconv"
	"strings"
)

// binaryUnits are the multipliers of RAMInBytes's suffixes.
var binaryUnits = map[byte]float64{
	'k': 1 << 10,
	'm': 1 << 20,
	'g': 1 << 30,
	't': 1 << 40,
	'p': 1 << 50,
}

// RAMInBytes parses an amount of memory the way Docker's
// units.RAMInBytes does: a decimal number ("64", "1.5"), an optional
// space, and an optional case-insensitive suffix b, or k, m, g, t, p
// (multiples of 1024) followed by nothing, "b" or "ib". Fractions of a
// byte are dropped: "1.5k" is 1536, "32.3" is 32.
func RAMInBytes(s string) (int64, error) {
	i := digits(s, 0)
	if i == 0 {
		return -1, invalid("invalid size: '%s'", s)
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -1, invalid("invalid size: '%s'", s)
		}
		i = j
	}
	num, sfx := s[:i], strings.TrimPrefix(s[i:], " ")

	mul := 1.0
	if low := strings.ToLower(sfx); low != "" && low != "b" {
		m, ok := binaryUnits[low[0]]
		if !ok || (low[1:] != "" && low[1:] != "b" && low[1:] != "ib") {
			return -1, invalid("invalid suffix: '%s'", sfx)
		}
		mul = m
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return -1, invalid("invalid size: '%s'", s)
	}
	f *= mul
	if f >= 1<<63 {
		return -1, invalid("invalid size: '%s'", s)
	}
	return int64(f), nil
}

// digits returns the index of the first non-digit in s at or after i.
func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
