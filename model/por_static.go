package model

// Static footprints: what a transition may read and write in any state
// (see por_foot.go for the kinds).

// footStatic returns transition t's footprint over every state.
func (p *POR) footStatic(t *Transition) *foot {
	s := p.s
	a := &s.Actors[t.Actor]
	f := newFoot(s.size)
	loc := s.varBase + int(a.Loc)
	f.add(loc, accRd)
	if t.To != SameLoc {
		f.add(loc, accWr)
	}
	for i := range a.enabled {
		p.condFoot(a, &a.enabled[i], f, nil, t.From)
	}
	for i := range t.Guard {
		p.condFoot(a, &t.Guard[i], f, nil, t.From)
	}
	if t.Watch != NoWatch {
		f.add(s.watchOff+int(t.Watch), accRd|accWr)
		// The earlier cases of the watch decide whether this one runs.
		for wi, w := range a.Watches {
			if w != t.Watch {
				continue
			}
			for _, ci := range a.handlers[wi] {
				c := &s.Trans[ci]
				for i := range c.Guard {
					p.condFoot(a, &c.Guard[i], f, nil, c.From)
				}
			}
		}
	}
	switch t.Kind {
	case TxnBody:
		bodyFoot(a, t, f)
	case Commit:
		recFoot(a, accRd|accWr, f)
		for _, b := range p.bodiesAt(a, t.From) {
			for i := range b.Ops {
				p.opStatic(&b.Ops[i], f)
			}
		}
		for i := 1; i < len(t.Ops); i++ {
			p.opStatic(&t.Ops[i], f)
		}
	case EAGAIN:
		recFoot(a, accRd|accWr, f)
		for i := range t.Ops {
			p.opStatic(&t.Ops[i], f)
		}
	default:
		for i := range t.Ops {
			p.opStatic(&t.Ops[i], f)
		}
	}
	for _, st := range t.Sets {
		f.add(s.varBase+int(st.Var), accWr)
	}
	if a.Domain > 0 {
		// An unprivileged request reads the permissions of its node
		// (perms.go), and a refused one does less than the above.
		s.permFootprint(a, t, func(o int) { f.add(o, accRd) })
	}
	if t.To == SameLoc || t.To == t.From {
		f.stutterReads()
	}
	// A condition on a node the transition may itself remove or create is
	// no condition.
	for _, c := range f.conds {
		keep := c.absent[:0]
		for _, q := range c.absent {
			mine := f.kind[q]&(accWr|accEns) != 0
			for _, d := range f.conds {
				mine = mine || d.acc.kind[q]&(accWr|accEns) != 0
			}
			if !mine {
				keep = append(keep, q)
			}
		}
		c.absent = keep
	}
	return f
}

// opStatic adds what op may read and write in any state.
func (p *POR) opStatic(op *Op, f *foot) {
	s := p.s
	cx := s.Conflict == CXenstored
	// write: the parents a WRITE may create, the node, its watches.
	write := func(q PathID, k uint8) {
		for a := s.Paths[q].Parent; a != NoPath && !p.permanent[a]; a = s.Paths[a].Parent {
			f.add(int(a), accEns)
			if cx {
				f.add(int(a), accEx)
			}
		}
		for a := q; a != NoPath; a = s.Paths[a].Parent {
			p.touchFoot(a, f) // the node, and the first existing ancestor when created
		}
		f.add(int(q), k)
		p.fireFoot(s.Paths[q].onWrite, f)
	}
	rm := func(q PathID) {
		f.add(int(q), accEx)
		p.subtreeFoot(q, f)
		if par := s.Paths[q].Parent; par != NoPath {
			p.touchFoot(par, f)
		}
		p.fireFoot(s.Paths[q].onRemove, f)
	}
	switch op.Kind {
	case OpWrite:
		write(op.Path, accWr)
	case OpMkdir:
		f.add(int(op.Path), accEx)
		write(op.Path, accWr)
	case OpRm:
		rm(op.Path)
	case OpCleanup:
		rm(op.Path)
		outer := f.cond == nil
		child := op.Path
		for q := s.Paths[op.Path].Parent; q != NoPath && q != 0 && !p.permanent[q]; child, q = q, s.Paths[q].Parent {
			f.add(int(q), accRd)
			for _, c := range s.Paths[q].Children {
				f.add(int(c), accEx)
			}
			if outer && f.cond == nil {
				// From here on, only when q's other children are gone.
				var others []PathID
				for _, c := range s.Paths[q].Children {
					if c != child {
						others = append(others, c)
					}
				}
				if len(others) > 0 {
					f.cond = others
					f.conds = append(f.conds, &condAccess{absent: others, acc: newFoot(s.size)})
				}
			}
			// Removed only when empty: the node alone.
			f.add(int(q), accWr)
			p.touchFoot(q, f)
			if par := s.Paths[q].Parent; par != NoPath {
				p.touchFoot(par, f)
			}
			p.fireFoot(s.Paths[q].onRemove, f)
		}
		if outer {
			f.cond = nil
		}
	case OpSetPerms:
		f.add(int(op.Path), accEx)
		if o := s.Paths[op.Path].aclSlot; o >= 0 {
			f.add(o, accWr) // the SET_PERMS flag (perms.go)
		}
		p.touchFoot(op.Path, f)
		p.fireFoot(s.Paths[op.Path].onWrite, f)
	case OpSwitchState:
		v := s.varBase + int(op.Var)
		f.add(v, accRd|accWr)
		f.add(int(op.Path), accEx|accWv)
		p.touchFoot(op.Path, f)
		p.fireFoot(s.Paths[op.Path].onWrite, f)
	case OpReplace:
		f.add(int(op.Path), accRd)
		if op.From == Absent {
			write(op.Path, accWr)
		} else {
			f.add(int(op.Path), accWv)
			p.touchFoot(op.Path, f)
			p.fireFoot(s.Paths[op.Path].onWrite, f)
		}
	case OpWatch, OpUnwatch:
		f.add(s.watchOff+int(op.Watch), accWr)
	case OpDomainGone:
		if s.RemoveOwnedOnDeath {
			for i := range s.Paths {
				if s.Paths[i].Owner == op.Dom {
					rm(PathID(i))
				}
			}
		}
	}
}
