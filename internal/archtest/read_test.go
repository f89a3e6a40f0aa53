package archtest

import "os"

func fsRead(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
