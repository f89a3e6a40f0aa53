module github.com/xbcheck/xbcheck

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/awalterschulze/gographviz v2.0.3+incompatible
	github.com/google/go-cmp v0.7.0
	github.com/hashicorp/yamux v0.1.2
	gonum.org/v1/gonum v0.17.0
	pgregory.net/rapid v1.3.0
)
