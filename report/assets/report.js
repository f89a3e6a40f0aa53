// The step-through of xbcheck's HTML report. The page's data (script
// #xb-data) holds, per trace, every state and step; this script renders
// the panels of the step shown and marks chart elements by id.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('xb-data').textContent);
  var views = {};
  var active = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  function setup(d) {
    var root = document.getElementById(d.id);
    var v = { d: d, root: root, k: 0, marked: [] };
    var q = function (s) { return root.querySelector(s); };
    v.q = q;
    q('.first').addEventListener('click', function () { go(v, 0); });
    q('.prev').addEventListener('click', function () { go(v, v.k - 1); });
    q('.next').addEventListener('click', function () { go(v, v.k + 1); });
    var bad = q('.bad');
    if (bad) bad.addEventListener('click', function () { go(v, d.violating); });
    var pick = q('.chart-pick');
    if (pick) pick.addEventListener('change', function () { showChart(v); });
    return v;
  }

  // go shows step k of trace v (0: the initial state) and makes it the
  // page's link.
  function go(v, k) {
    k = Math.max(0, Math.min(v.d.steps.length, k));
    if (active && active !== v) active.root.hidden = true;
    v.root.hidden = false;
    active = v;
    v.k = k;
    render(v);
    setHash('#' + v.d.id + '-s' + k);
  }

  // setHash makes h the page's location without a new history entry, at
  // most once per 100 ms with a trailing update: Chromium throttles a
  // page that calls the history API more than 200 times in 10 s (a held
  // arrow key). A location the user opened meanwhile (a link, the back
  // button, a typed hash) wins: the deferred update may run after the
  // location changed and before its hashchange event, and then leaves it
  // to that event. hashSeen is the location as the page last wrote or
  // read it.
  var hashTimer = null, hashWant = null, hashLast = 0, hashSeen = location.hash;
  function setHash(h) {
    hashWant = h;
    if (hashTimer) return;
    var wait = hashLast + 100 - Date.now();
    var apply = function () {
      hashTimer = null;
      hashLast = Date.now();
      if (location.hash !== hashSeen) return;
      if (location.hash !== hashWant) history.replaceState(null, '', hashWant);
      hashSeen = hashWant;
    };
    if (wait <= 0) apply();
    else hashTimer = setTimeout(apply, wait);
  }

  function render(v) {
    var d = v.d, k = v.k, st = d.states[k], prev = k > 0 ? d.states[k - 1] : null;
    var step = k > 0 ? d.steps[k - 1] : null;
    var q = v.q;
    q('.pos .k').textContent = String(k);
    q('.link').setAttribute('href', '#' + d.id + '-s' + k);
    q('.first').disabled = k === 0;
    q('.prev').disabled = k === 0;
    q('.next').disabled = k === d.steps.length;
    v.root.setAttribute('data-step', String(k));

    // The step.
    var sp = q('.step');
    clear(sp);
    sp.classList.toggle('bad', d.bad.indexOf(k) >= 0);
    if (!step) {
      sp.appendChild(el('div', 'head', 'Initial state'));
      sp.appendChild(el('div', 'protocol', 'Every actor at its start; press → or n for step 1.'));
    } else {
      var a = d.actors[step.actor];
      var head = 'Step ' + k + ': ' + a.name + ' "' + step.transition + '"  ' + step.from + ' → ' + step.to;
      if (d.loop >= 0 && d.loop < d.steps.length && k === d.loop + 1) head = 'Cycle starts. ' + head;
      sp.appendChild(el('div', 'head', head));
      if (step.what) sp.appendChild(el('div', 'what', step.what));
      if (step.at) sp.appendChild(el('div', 'at', 'at ' + step.at));
      if (step.desc) sp.appendChild(el('div', 'protocol', step.desc));
      if (step.guard) sp.appendChild(el('div', 'guard', 'if ' + step.guard));
      var ops = el('ul', 'ops');
      step.ops.forEach(function (o) { ops.appendChild(el('li', 'op', o)); });
      if (step.ops.length) sp.appendChild(ops);
      if (d.bad.indexOf(k) >= 0 && d.note) sp.appendChild(el('div', 'bad-note', d.note));
    }

    // Actors.
    var tb = q('.actors tbody');
    clear(tb);
    d.actors.forEach(function (a, i) {
      var tr = el('tr');
      tr.setAttribute('data-actor', a.name);
      if (step && step.actor === i) tr.classList.add('stepping');
      if (prev && prev.loc[i] !== st.loc[i]) tr.classList.add('moved');
      var l = a.locs[st.loc[i]] || { name: '?', desc: '' };
      tr.appendChild(el('td', 'name', a.name));
      var td = el('td');
      td.appendChild(el('span', 'loc', l.name));
      if (l.desc) { td.appendChild(el('br')); td.appendChild(el('span', 'desc', l.desc)); }
      if (st.vars[i].length) { td.appendChild(el('br')); td.appendChild(el('span', 'vars', st.vars[i].join(', '))); }
      tr.appendChild(td);
      tb.appendChild(tr);
    });

    // The xenstore tree: nodes that exist now, and those the step removed.
    var rows = q('.tree .rows');
    clear(rows);
    d.paths.forEach(function (p) {
      var now = st.store[p.id], before = prev ? prev.store[p.id] : now;
      if (now === 0 && before === 0) return;
      var r = el('div', 'node');
      r.setAttribute('data-path', p.name);
      r.style.paddingLeft = (p.depth * 1.2) + 'em';
      var cls = '';
      if (prev && before === 0) cls = 'created';
      else if (prev && now === 0) cls = 'removed';
      else if (prev && now !== before) cls = 'changed';
      if (cls) r.classList.add(cls);
      r.appendChild(el('span', 'name', p.base));
      var shown = now !== 0 ? now : before;
      r.appendChild(document.createTextNode(' = '));
      r.appendChild(el('span', 'val', d.values[shown]));
      if (p.state && d.stateName[shown]) r.appendChild(el('span', 'sname', ' (' + d.stateName[shown] + ')'));
      if (cls === 'changed') r.appendChild(el('span', 'old', '  was ' + d.values[before]));
      rows.appendChild(r);
    });

    // Watches: pending events first.
    var wl = q('.watches ul');
    clear(wl);
    var order = [];
    d.watches.forEach(function (w, i) { if (st.watch[i] === 2) order.push(i); });
    d.watches.forEach(function (w, i) { if (st.watch[i] === 1) order.push(i); });
    order.forEach(function (i) {
      var w = d.watches[i];
      var li = el('li', st.watch[i] === 2 ? 'pending' : 'registered',
        (st.watch[i] === 2 ? 'event pending: ' : 'registered: ') + w.path + ' (' + d.actors[w.actor].name + ')');
      li.setAttribute('data-watch', w.path);
      wl.appendChild(li);
    });
    if (!order.length) wl.appendChild(el('li', 'none', 'no watch registered'));

    // Transactions in flight.
    var tl = q('.txns ul');
    clear(tl);
    st.txn.forEach(function (t) {
      var li = el('li', 'txn');
      li.setAttribute('data-actor', d.actors[t.actor].name);
      li.appendChild(el('b', null, d.actors[t.actor].name + ': ' + t.body));
      if (t.desc) li.appendChild(el('div', 'desc', t.desc));
      var u = el('ul', 'ops');
      t.ops.forEach(function (o) { u.appendChild(el('li', null, o)); });
      li.appendChild(u);
      tl.appendChild(li);
    });
    if (!st.txn.length) tl.appendChild(el('li', 'none', 'none'));

    var sl = q('.shared ul');
    clear(sl);
    st.shared.forEach(function (s, i) {
      var li = el('li', prev && prev.shared[i] !== s ? 'changed' : '', s);
      sl.appendChild(li);
    });

    // The real host's record beside the model's steps.
    var real = q('.real ol');
    if (real && d.real) {
      clear(real);
      d.real.entries.forEach(function (e) {
        var cls = e.step < 0 ? 'unexplained' : e.step === k ? 'cur' : e.step < k ? 'past' : 'future';
        var li = el('li', cls, (e.who ? e.who + ': ' : '') + e.text + (e.step < 0 ? '  (not explained by the model)' : '  (model step ' + e.step + ')'));
        li.setAttribute('data-step', String(e.step));
        real.appendChild(li);
      });
    }

    // Marks in the diagrams.
    v.marked.forEach(function (m) { m.classList.remove('xb-cur', 'xb-step'); });
    v.marked = [];
    var mark = function (id, cls) {
      var e = document.getElementById(id);
      if (!e) return;
      e.classList.add(cls);
      v.marked.push(e);
    };
    st.mark.forEach(function (id) { mark(id, 'xb-cur'); });
    if (step) step.mark.forEach(function (id) { mark(id, 'xb-step'); });
    showChart(v);
    var label = step && step.mark.length ? document.getElementById(step.mark[0]) : null;
    var seq = q('.seq .svg');
    if (seq) {
      if (label && seq.contains(label)) scrollInto(seq, label);
      else if (!step) seq.scrollTop = 0;
    }
  }

  // showChart shows the chart of the picked actor, or of the actor of
  // the step (the first charted actor in the initial state).
  function showChart(v) {
    var pick = v.q('.chart-pick');
    if (!pick) return;
    var divs = v.root.querySelectorAll('.chart-svg');
    var want = pick.value;
    if (want === 'follow') {
      var step = v.k > 0 ? v.d.steps[v.k - 1] : null;
      want = step && v.d.actors[step.actor].chart ? String(step.actor) : (divs.length ? divs[0].getAttribute('data-actor') : '');
      if (!step && v.lastChart !== undefined) want = v.lastChart;
    }
    v.lastChart = want;
    for (var i = 0; i < divs.length; i++) {
      divs[i].hidden = divs[i].getAttribute('data-actor') !== want;
      if (!divs[i].hidden) {
        var cur = divs[i].querySelector('g.node.xb-cur');
        if (cur) scrollInto(divs[i], cur);
      }
    }
  }

  // scrollInto scrolls container so that e is in view, without moving
  // the page.
  function scrollInto(container, e) {
    var c = container.getBoundingClientRect(), r = e.getBoundingClientRect();
    if (r.top < c.top || r.bottom > c.bottom) container.scrollTop += r.top - c.top - c.height / 3;
    if (r.left < c.left || r.right > c.right) container.scrollLeft += r.left - c.left - c.width / 3;
  }

  function fromHash() {
    hashSeen = location.hash;
    var m = /^#(c\d+)(?:-s(\d+))?$/.exec(location.hash);
    if (m && views[m[1]]) { go(views[m[1]], m[2] ? parseInt(m[2], 10) : 0); return true; }
    return false;
  }

  data.traces.forEach(function (d) { views[d.id] = setup(d); });
  document.addEventListener('keydown', function (e) {
    if (!active || e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target && e.target.tagName;
    if (t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA') return;
    var v = active;
    switch (e.key) {
      case 'ArrowRight': case 'n': case 'j': go(v, v.k + 1); break;
      case 'ArrowLeft': case 'p': case 'k': go(v, v.k - 1); break;
      case 'v': if (v.d.violating > 0) go(v, v.d.violating); break;
      case 'Home': go(v, 0); break;
      case 'End': go(v, v.d.steps.length); break;
      default: return;
    }
    e.preventDefault();
  });
  window.addEventListener('hashchange', fromHash);
  if (!fromHash() && data.traces.length) go(views[data.traces[0].id], 0);
})();
