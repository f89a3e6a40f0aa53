package exec

import (
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

// tolerate accepts the watch differences that the model keeps on purpose
// and brings the executor's view in line with the model's:
// RmPhantomEvent (the model fires a watch below a removed node that did
// not exist; oxenstored does not) and TxnEventsFromBody (a commit fires
// for the body's requests even where they change nothing now).
func (r *Session) tolerate(n int, pre model.State, want, got map[string]string) {
	if n == 0 || pre == nil {
		return
	}
	sys := r.sys
	t := &sys.Trans[r.last]
	body, own := sys.EffectiveOps(pre, t)
	for i := range sys.Watches {
		w := model.WatchID(i)
		name := sys.Watches[i].Name
		if want[name] == got[name] {
			continue
		}
		wp := sys.Paths[sys.Watches[i].Path].Name
		if want[name] == "pending" && got[name] == "on" {
			wid := sys.Watches[i].Path
			for _, op := range append(append([]model.Op{}, body...), own...) {
				rp := sys.Paths[op.Path].Name
				if (op.Kind == model.OpRm || op.Kind == model.OpCleanup) && strings.HasPrefix(wp, rp+"/") &&
					!sys.Exists(pre, wid) && !sys.Exists(pre, sys.Paths[wid].Parent) {
					r.rep.Known[RmPhantomEvent]++
					r.pending[w] = true
					got[name] = want[name]
					break
				}
			}
		}
		if want[name] != got[name] && t.Kind == model.Commit && want[name] != "off" && got[name] != "off" &&
			!firesAny(sys, own[1:], w) && (got[name] == "pending") == r.commitEvents(r.snaps[t.Actor], pre, body, w) {
			r.rep.Known[TxnEventsFromBody]++
			r.pending[w] = want[name] == "pending"
			got[name] = want[name]
		}
	}
}

// fires reports whether op, by its path alone, concerns watch w: it
// modifies the watched node or a node below it, or removes an ancestor.
func fires(sys *model.System, op model.Op, w model.WatchID) bool {
	if !op.Kind.IsWrite() || op.Kind == model.OpDomainGone {
		return false
	}
	wp, p := sys.Paths[sys.Watches[w].Path].Name, sys.Paths[op.Path].Name
	if p == wp || wp == "/" || strings.HasPrefix(p, wp+"/") {
		return true
	}
	return (op.Kind == model.OpRm || op.Kind == model.OpCleanup) && (p == "/" || strings.HasPrefix(wp, p+"/"))
}

func firesAny(sys *model.System, ops []model.Op, w model.WatchID) bool {
	for _, op := range ops {
		if fires(sys, op, w) {
			return true
		}
	}
	return false
}

// commitEvents is what oxenstored sends watch w at the commit of body,
// opened in snap and committed in pre: one event per modifying request
// that changed the snapshot, delivered if its node exists in the
// snapshot or after the commit, or its parent in the snapshot (see
// TxnEventsFromBody).
func (r *Session) commitEvents(snap, pre model.State, body []model.Op, w model.WatchID) bool {
	sys := r.sys
	if snap == nil {
		snap = pre
	}
	cur := append(model.State(nil), snap...)
	post := append(model.State(nil), pre...)
	for _, op := range body {
		sys.ApplyOp(post, op)
	}
	wid := sys.Watches[w].Path
	for _, op := range body {
		noop := op.Kind == model.OpMkdir && sys.Exists(cur, op.Path) ||
			(op.Kind == model.OpRm || op.Kind == model.OpCleanup) && !sys.Exists(cur, op.Path)
		if !noop && fires(sys, op, w) {
			e := op.Path
			if strings.HasPrefix(sys.Paths[wid].Name, sys.Paths[op.Path].Name+"/") {
				e = wid
			}
			if sys.Exists(snap, e) || sys.Exists(post, e) || sys.Paths[e].Parent != model.NoPath && sys.Exists(snap, sys.Paths[e].Parent) {
				return true
			}
		}
		sys.ApplyOp(cur, op)
	}
	return false
}
