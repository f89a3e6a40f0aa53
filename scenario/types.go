package scenario

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// checkTypes checks every value of the file against the type of its Spec
// field and reports keys Spec has no field for.
func (p *parser) checkTypes() []*Error {
	return p.checkTable(p.raw, reflect.TypeFor[Spec](), "", -1, "")
}

// checkTable checks the table m against struct type t; table and index
// locate it, where describes it in messages ("" at the top level).
func (p *parser) checkTable(m map[string]any, t reflect.Type, table string, index int, where string) []*Error {
	names, fields := fieldsOf(t)
	var errs []*Error
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		// Where the key is: top-level keys are keys of table "".
		line := p.at(table, index, k)
		if table == "" {
			line = p.topLine(k)
		}
		f, ok := fields[k]
		if !ok {
			errs = append(errs, p.errf(line, "%s", unknownKey(k, v, where, names)))
			continue
		}
		name := k
		if where != "" {
			name = where + ": " + k
		}
		errs = append(errs, p.checkValue(v, f.Type, k, name, line)...)
	}
	return errs
}

// unknownKey describes key k (value v) of the table described by where,
// which has no field for it; names are the keys it has.
func unknownKey(k string, v any, where string, names []string) string {
	msg := fmt.Sprintf("unknown key %q", k)
	if where == "" {
		if _, isTable := v.(map[string]any); isTable {
			msg = fmt.Sprintf("unknown table [%s]", k)
		} else if _, isArr := v.([]map[string]any); isArr {
			msg = fmt.Sprintf("unknown table [[%s]]", k)
		}
	} else {
		msg += " in " + where
	}
	if s := closest(k, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += " (known: " + strings.Join(names, ", ") + ")"
	}
	return msg
}

// checkValue checks the value v of key k, given on line, against the type
// ft of its field; name names it in messages. A table or an array of
// tables is checked key by key.
func (p *parser) checkValue(v any, ft reflect.Type, k, name string, line int) []*Error {
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	want := ""
	var errs []*Error
	switch ft.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			want = "a string"
		}
	case reflect.Int:
		if _, ok := v.(int64); !ok {
			want = "an integer"
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			want = "a boolean (true or false)"
		}
	case reflect.Struct:
		sub, ok := v.(map[string]any)
		if !ok {
			want = fmt.Sprintf("a table [%s]", k)
			break
		}
		errs = p.checkTable(sub, ft, k, -1, k)
	case reflect.Slice:
		if ft.Elem().Kind() == reflect.String {
			want, errs = p.checkStrings(v, name, line)
			break
		}
		elems, ok := tables(v)
		if !ok {
			want = fmt.Sprintf("an array of tables [[%s]]", k)
			break
		}
		for i, e := range elems {
			errs = append(errs, p.checkTable(e, ft.Elem(), k, i, rawLabel(k, i, e))...)
		}
	}
	if want != "" {
		errs = append(errs, p.errf(line, "%s must be %s, not %s", name, want, tomlType(v)))
	}
	return errs
}

// checkStrings checks an array of strings: it returns what v should have
// been when it is no array, or the error of its first element that is no
// string.
func (p *parser) checkStrings(v any, name string, line int) (want string, errs []*Error) {
	arr, ok := v.([]any)
	if !ok {
		return "an array of strings", nil
	}
	for i, e := range arr {
		if _, ok := e.(string); !ok {
			return "", []*Error{p.errf(line, "%s[%d] must be a string, not %s", name, i, tomlType(e))}
		}
	}
	return "", nil
}

// tables returns the tables of an array of tables; ok is false when v is
// not one.
func tables(v any) (elems []map[string]any, ok bool) {
	switch a := v.(type) {
	case []map[string]any:
		return a, true
	case []any:
		for _, e := range a {
			em, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			elems = append(elems, em)
		}
		return elems, true
	}
	return nil, false
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// fieldsOf returns the toml names of a struct type's fields, in order.
func fieldsOf(t reflect.Type) ([]string, map[string]reflect.StructField) {
	var names []string
	m := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		names = append(names, tag)
		m[tag] = f
	}
	return names, m
}

// rawLabel describes the i-th element of array table k, by its name when
// it has one.
func rawLabel(k string, i int, m map[string]any) string {
	if n, ok := m["name"].(string); ok && n != "" {
		return fmt.Sprintf("%s %q", k, n)
	}
	if k == "xenstore" {
		if n, ok := m["path"].(string); ok && n != "" {
			return fmt.Sprintf("xenstore node %q", n)
		}
	}
	return fmt.Sprintf("%s #%d", k, i+1)
}
