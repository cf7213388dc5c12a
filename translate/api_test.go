package translate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestExportedAPIHasNoInternalTypes reads the source of every importable
// package of the module (this one and its siblings; not internal/, cmd/ or
// testdata) and fails for every exported function, method, type, field,
// variable or constant whose declared type names a type of an internal
// package: a user outside this module could not name such a type (the
// examples beside this file, in package translate_test, use the exported
// API only).
func TestExportedAPIHasNoInternalTypes(t *testing.T) {
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := d.Name()
		if d.IsDir() && path != ".." && (base == "internal" || base == "cmd" || base == "testdata" || strings.HasPrefix(base, ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(base, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name == "main" {
			continue
		}
		internal := map[string]bool{} // import names of internal packages
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(path, "/internal/") {
				continue
			}
			n := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				n = imp.Name.Name
			}
			internal[n] = true
		}
		check := func(what string, e ast.Expr) {
			checked++
			if e == nil {
				return
			}
			for _, ref := range internalRefs(e, internal) {
				t.Errorf("%s: %s uses the internal type %s", fset.Position(e.Pos()), what, ref)
			}
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv.List[0].Type)) {
					continue
				}
				check(d.Name.Name, d.Type)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							check("type "+s.Name.Name, s.Type)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								check(n.Name, s.Type)
							}
						}
					}
				}
			}
		}
	}
	if checked < 500 {
		t.Fatalf("checked only %d declarations: is the package's source here?", checked)
	}
}

// exportedRecv reports whether a method's receiver type is exported.
func exportedRecv(e ast.Expr) bool {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	id, ok := e.(*ast.Ident)
	return ok && id.IsExported()
}

// internalRefs lists the pkg.Type references to internal packages in a
// type expression, skipping the unexported fields of struct types.
func internalRefs(e ast.Expr, internal map[string]bool) []string {
	var refs []string
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.StructType:
			for _, f := range n.Fields.List {
				exported := len(f.Names) == 0 // embedded
				for _, name := range f.Names {
					exported = exported || name.IsExported()
				}
				if exported {
					refs = append(refs, internalRefs(f.Type, internal)...)
				}
			}
			return false
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && internal[x.Name] {
				refs = append(refs, x.Name+"."+n.Sel.Name)
			}
		}
		return true
	})
	return refs
}
