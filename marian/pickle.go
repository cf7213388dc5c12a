package marian

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is a small pickle reader for exactly what torch.save writes for
// a state_dict (protocol 2): an OrderedDict of tensors rebuilt by
// torch._utils._rebuild_tensor_v2 from persistent storage references. It
// executes nothing: every callable it meets is one of a fixed few, and any
// other opcode or global is an error.

// pickleGlobal is a module.name reference (GLOBAL, STACK_GLOBAL).
type pickleGlobal struct{ module, name string }

// pickleTuple is a Python tuple.
type pickleTuple []any

// pickleList is a Python list (mutable, so a pointer).
type pickleList struct{ items []any }

// pickleDict is an ordered Python dict or OrderedDict.
type pickleDict struct {
	keys, values []any
}

// storageRef is a persistent id ('storage', torch.XStorage, key, location, numel).
type storageRef struct {
	dtype string // "F32", "F16" or "BF16"
	key   string // the file data/<key> in the zip
	numel int64
}

// torchTensor is a tensor rebuilt by _rebuild_tensor_v2.
type torchTensor struct {
	storage      *storageRef
	offset       int64
	size, stride []int64
}

// storageDTypes maps torch storage classes to safetensors dtype names.
var storageDTypes = map[string]string{"FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16"}

// unpickler holds the state of the pickle machine.
type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks [][]any
	memo  map[uint32]any
}

// unpickle runs the pickle program in data and returns the value it stops with.
func unpickle(data []byte) (any, error) {
	u := &unpickler{data: data, memo: map[uint32]any{}}
	for {
		if u.pos >= len(u.data) {
			return nil, fmt.Errorf("pickle ends without STOP")
		}
		op := u.data[u.pos]
		at := u.pos
		u.pos++
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle opcode %#02x at byte %d: %w", op, at, err)
		}
		if done {
			if len(u.stack) != 1 || len(u.marks) != 0 {
				return nil, fmt.Errorf("pickle stops with %d values on the stack", len(u.stack))
			}
			return u.stack[0], nil
		}
	}
}

// step executes one opcode; done is true at STOP.
func (u *unpickler) step(op byte) (done bool, err error) {
	switch op {
	case 0x80: // PROTO
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		if b[0] > 5 {
			return false, fmt.Errorf("pickle protocol %d is unknown", b[0])
		}
	case 0x95: // FRAME
		_, err = u.read(8)
	case '.': // STOP
		return true, nil
	case 'c': // GLOBAL
		module, err := u.line()
		if err != nil {
			return false, err
		}
		name, err := u.line()
		if err != nil {
			return false, err
		}
		u.push(pickleGlobal{module, name})
	case 0x93: // STACK_GLOBAL
		name, err1 := u.pop()
		module, err2 := u.pop()
		ms, ok1 := module.(string)
		ns, ok2 := name.(string)
		if err1 != nil || err2 != nil || !ok1 || !ok2 {
			return false, fmt.Errorf("STACK_GLOBAL needs two strings")
		}
		u.push(pickleGlobal{ms, ns})
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		idx := uint32(len(u.memo))
		if op != 0x94 {
			if idx, err = u.index(op == 'r'); err != nil {
				return false, err
			}
		}
		if len(u.stack) == 0 {
			return false, fmt.Errorf("memo store from an empty stack")
		}
		u.memo[idx] = u.stack[len(u.stack)-1]
	case 'h', 'j': // BINGET, LONG_BINGET
		idx, err := u.index(op == 'j')
		if err != nil {
			return false, err
		}
		v, ok := u.memo[idx]
		if !ok {
			return false, fmt.Errorf("memo %d is not set", idx)
		}
		u.push(v)
	case '(': // MARK
		u.marks = append(u.marks, u.stack)
		u.stack = nil
	case ')': // EMPTY_TUPLE
		u.push(pickleTuple{})
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(pickleTuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op - 0x84)
		if len(u.stack) < n {
			return false, fmt.Errorf("TUPLE%d on a stack of %d", n, len(u.stack))
		}
		t := append(pickleTuple{}, u.stack[len(u.stack)-n:]...)
		u.stack = u.stack[:len(u.stack)-n]
		u.push(t)
	case '}': // EMPTY_DICT
		u.push(&pickleDict{})
	case ']': // EMPTY_LIST
		u.push(&pickleList{})
	case 's', 'u': // SETITEM, SETITEMS
		var items []any
		if op == 's' {
			if len(u.stack) < 2 {
				return false, fmt.Errorf("SETITEM on a stack of %d", len(u.stack))
			}
			items = append(items, u.stack[len(u.stack)-2:]...)
			u.stack = u.stack[:len(u.stack)-2]
		} else if items, err = u.popMark(); err != nil {
			return false, err
		}
		if len(items)%2 != 0 || len(u.stack) == 0 {
			return false, fmt.Errorf("SETITEMS needs a dict and key/value pairs")
		}
		d, ok := u.stack[len(u.stack)-1].(*pickleDict)
		if !ok {
			return false, fmt.Errorf("SETITEMS on a %T, not a dict", u.stack[len(u.stack)-1])
		}
		for i := 0; i < len(items); i += 2 {
			d.keys = append(d.keys, items[i])
			d.values = append(d.values, items[i+1])
		}
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		if op == 'a' {
			v, err := u.pop()
			if err != nil {
				return false, err
			}
			items = []any{v}
		} else if items, err = u.popMark(); err != nil {
			return false, err
		}
		if len(u.stack) == 0 {
			return false, fmt.Errorf("APPEND without a list")
		}
		l, ok := u.stack[len(u.stack)-1].(*pickleList)
		if !ok {
			return false, fmt.Errorf("APPEND to a %T, not a list", u.stack[len(u.stack)-1])
		}
		l.items = append(l.items, items...)
	case 'N':
		u.push(nil)
	case 0x88, 0x89: // NEWTRUE, NEWFALSE
		u.push(op == 0x88)
	case 'K', 'M', 'J': // BININT1, BININT2, BININT
		n := map[byte]int{'K': 1, 'M': 2, 'J': 4}[op]
		b, err := u.read(n)
		if err != nil {
			return false, err
		}
		switch op {
		case 'K':
			u.push(int64(b[0]))
		case 'M':
			u.push(int64(binary.LittleEndian.Uint16(b)))
		default:
			u.push(int64(int32(binary.LittleEndian.Uint32(b))))
		}
	case 0x8a: // LONG1: n-byte little-endian two's complement
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		n := int(b[0])
		if n > 8 {
			return false, fmt.Errorf("LONG1 of %d bytes is too large", n)
		}
		if b, err = u.read(n); err != nil {
			return false, err
		}
		var v int64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
			v -= 1 << (8 * n)
		}
		u.push(v)
	case 'G': // BINFLOAT
		b, err := u.read(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d, 'U', 'T', 'B', 'C': // unicode and byte strings
		s, err := u.str(op)
		if err != nil {
			return false, err
		}
		u.push(s)
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return false, err
		}
		ref, err := persistentStorage(pid)
		if err != nil {
			return false, err
		}
		u.push(ref)
	case 'R': // REDUCE
		args, err1 := u.pop()
		fn, err2 := u.pop()
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("REDUCE on a short stack")
		}
		v, err := reduce(fn, args)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'b': // BUILD: sets attributes (OrderedDict._metadata); ignored
		if _, err := u.pop(); err != nil {
			return false, err
		}
		if len(u.stack) == 0 {
			return false, fmt.Errorf("BUILD without an object")
		}
	default:
		return false, fmt.Errorf("unsupported opcode (this reader handles torch.save state_dicts only)")
	}
	return false, err
}

// read returns the next n bytes.
func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, fmt.Errorf("truncated: wants %d bytes, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

// line reads up to the next newline (GLOBAL arguments).
func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", fmt.Errorf("truncated: GLOBAL without a newline")
}

// index reads a 1- or 4-byte memo index.
func (u *unpickler) index(long bool) (uint32, error) {
	if !long {
		b, err := u.read(1)
		if err != nil {
			return 0, err
		}
		return uint32(b[0]), nil
	}
	b, err := u.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

// str reads the operand of a string opcode.
func (u *unpickler) str(op byte) (string, error) {
	var n uint64
	switch op {
	case 0x8c, 'U', 'C': // 1-byte length
		b, err := u.read(1)
		if err != nil {
			return "", err
		}
		n = uint64(b[0])
	case 0x8d: // 8-byte length
		b, err := u.read(8)
		if err != nil {
			return "", err
		}
		n = binary.LittleEndian.Uint64(b)
	default: // 4-byte length
		b, err := u.read(4)
		if err != nil {
			return "", err
		}
		n = uint64(binary.LittleEndian.Uint32(b))
	}
	if n > uint64(len(u.data)-u.pos) {
		return "", fmt.Errorf("truncated: string of %d bytes, %d left", n, len(u.data)-u.pos)
	}
	b, err := u.read(int(n))
	return string(b), err
}

// push pushes v.
func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// pop pops the top value.
func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

// popMark returns the values pushed since the last MARK and restores the
// stack from before it.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, fmt.Errorf("no MARK")
	}
	items := u.stack
	u.stack = u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	return items, nil
}

// persistentStorage decodes ('storage', torch.XStorage, key, location, numel).
func persistentStorage(pid any) (*storageRef, error) {
	t, ok := pid.(pickleTuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %s is not ('storage', type, key, location, numel)", short(pid))
	}
	g, ok1 := t[1].(pickleGlobal)
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("persistent id %s is not ('storage', type, key, location, numel)", short(pid))
	}
	dt, ok := storageDTypes[g.name]
	if g.module != "torch" || !ok {
		return nil, fmt.Errorf("storage type %s.%s is not supported (want torch.FloatStorage, HalfStorage or BFloat16Storage)", g.module, g.name)
	}
	return &storageRef{dtype: dt, key: key, numel: numel}, nil
}

// reduce applies one of the few callables a state_dict pickle uses.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(pickleGlobal)
	a, ok2 := args.(pickleTuple)
	if !ok || !ok2 {
		return nil, fmt.Errorf("REDUCE of %T with %T arguments", fn, args)
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		if len(a) != 0 {
			return nil, fmt.Errorf("OrderedDict with arguments")
		}
		return &pickleDict{}, nil
	case "torch._utils._rebuild_tensor_v2":
		// (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
		if len(a) != 6 && len(a) != 7 {
			return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(a))
		}
		st, ok1 := a[0].(*storageRef)
		off, ok2 := a[1].(int64)
		size, ok3 := ints(a[2])
		stride, ok4 := ints(a[3])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("_rebuild_tensor_v2 arguments %s", short(a[:4]))
		}
		return &torchTensor{storage: st, offset: off, size: size, stride: stride}, nil
	case "torch._utils._rebuild_parameter":
		// (data, requires_grad, backward_hooks)
		if len(a) != 3 {
			return nil, fmt.Errorf("_rebuild_parameter with %d arguments", len(a))
		}
		t, ok := a[0].(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("_rebuild_parameter of a %T", a[0])
		}
		return t, nil
	}
	return nil, fmt.Errorf("unsupported callable %s.%s (only torch state_dict tensors are read)", g.module, g.name)
}

// ints converts a tuple of ints.
func ints(v any) ([]int64, bool) {
	t, ok := v.(pickleTuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		if out[i], ok = x.(int64); !ok {
			return nil, false
		}
	}
	return out, true
}

// short formats v for an error message, cut to 200 bytes.
func short(v any) string {
	s := fmt.Sprintf("%v", v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
