/* neops-remote-lab status page: reads the JSON views (sessions, labs, host, netlab-ops,
 * debug/health) and re-reads them whenever GET /events reports something. Read-only unless
 * the operator gives the admin token. Everything from the server is rendered as text
 * (textContent, Text nodes, setAttribute): never as HTML. No dependencies. */
'use strict';

(() => {
  const SESSION_ROWS_MAX = 200;   /* the queue can be long: the first ones are shown */
  const EVENT_LINE_MAX = 1 << 20; /* bytes of one unfinished event-stream line */
  const SILENCE_MAX_MS = 45000;   /* the server pings every 15 s: a stream this quiet is dead */
  const TOKEN_KEYS = { access: 'remote-lab.access-token', admin: 'remote-lab.admin-token' };

  const $ = (id) => document.getElementById(id);

  /* --- tokens: only in this tab (sessionStorage), only ever sent as Authorization --- */

  const tokens = { access: null, admin: null };

  function loadToken(kind) {
    try {
      tokens[kind] = sessionStorage.getItem(TOKEN_KEYS[kind]);
    } catch (e) {
      tokens[kind] = null;
    }
  }

  function setToken(kind, value) {
    tokens[kind] = value || null;
    try {
      if (value)
        sessionStorage.setItem(TOKEN_KEYS[kind], value);
      else
        sessionStorage.removeItem(TOKEN_KEYS[kind]);
    } catch (e) {
      /* storage refused (private mode): the token lives in page memory only */
    }
  }

  /* /ui#admin=TOKEN&token=TOKEN: take the tokens, then drop the fragment from the address
   * bar and the history entry (a fragment is never sent to the server). */
  function takeFragment() {
    if (location.hash.length < 2)
      return;
    const params = new URLSearchParams(location.hash.slice(1));
    let taken = false;
    if (params.has('admin')) {
      setToken('admin', params.get('admin').trim());
      taken = true;
    }
    if (params.has('token')) {
      setToken('access', params.get('token').trim());
      taken = true;
    }
    if (taken)
      history.replaceState(null, '', location.pathname + location.search);
  }

  function readHeaders(extra) {
    const h = new Headers(extra || {});
    if (tokens.access)
      h.set('Authorization', 'Bearer ' + tokens.access);
    return h;
  }

  /* --- small DOM helpers: text only --- */

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false)
        continue;
      if (k === 'class')
        e.className = v;
      else
        e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined)
        continue;
      e.append(c instanceof Node ? c : String(c)); /* strings become Text nodes */
    }
    return e;
  }

  function setText(id, text) {
    $(id).textContent = text;
  }

  function fmtDuration(s) {
    if (s === null || s === undefined || !isFinite(s))
      return '–';
    s = Math.max(0, s);
    if (s < 10)
      return s.toFixed(1) + ' s';
    if (s < 60)
      return Math.floor(s) + ' s';
    const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (m < 60)
      return m + ' min ' + String(Math.floor(s % 60)).padStart(2, '0') + ' s';
    if (h < 24)
      return h + ' h ' + String(m % 60).padStart(2, '0') + ' min';
    return d + ' d ' + (h % 24) + ' h';
  }

  function fmtClock(epoch) {
    const t = new Date(epoch * 1000);
    const two = (n) => String(n).padStart(2, '0');
    return t.getFullYear() + '-' + two(t.getMonth() + 1) + '-' + two(t.getDate()) + ' ' +
      two(t.getHours()) + ':' + two(t.getMinutes()) + ':' + two(t.getSeconds());
  }

  /* Cells that count up (ages, uptimes) between two reads of the views. */
  let tickers = [];
  let readAt = performance.now();

  function ticking(seconds) {
    const span = el('span', { class: 'num' }, fmtDuration(seconds));
    if (seconds !== null && seconds !== undefined)
      tickers.push({ span, seconds });
    return span;
  }

  function tick() {
    const elapsed = (performance.now() - readAt) / 1000;
    for (const t of tickers)
      t.span.textContent = fmtDuration(t.seconds + elapsed);
  }

  function badge(text, kind) {
    return el('span', { class: 'badge ' + (kind || text) }, text);
  }

  function fillTable(id, columns, rows) {
    const table = $(id);
    const head = el('tr', null, ...columns.map((c) => el('th', { scope: 'col' }, c)));
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceChildren(...rows);
    table.hidden = rows.length === 0;
  }

  /* --- connection state and messages --- */

  function setConn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    c.textContent = text || state;
  }

  let messageTimer = null;

  function say(text, kind) {
    const m = $('message');
    readFailed = false;
    m.textContent = text;
    m.className = 'message ' + (kind || 'info');
    m.hidden = false;
    clearTimeout(messageTimer);
    if (kind !== 'error')
      messageTimer = setTimeout(() => { m.hidden = true; }, 8000);
  }

  /* --- reading the views --- */

  class AuthError extends Error {}

  async function getJSON(path) {
    const r = await fetch(path, { headers: readHeaders(), cache: 'no-store' });
    if (r.status === 401)
      throw new AuthError(path);
    if (!r.ok)
      throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  let view = null;        /* the last views read */
  let refreshing = false; /* a read is running */
  let again = false;      /* something happened meanwhile: read once more after it */
  let readFailed = false; /* the message on show says that the last read failed */

  /* Re-read every view. Calls while a read runs fold into one more read after it, so the
   * page always ends with a read that started after the last event. */
  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      do {
        again = false;
        await readViews();
      } while (again);
    } finally {
      refreshing = false;
    }
  }

  async function readViews() {
    let v;
    try {
      const [sessions, labs, host, ops, health] = await Promise.all([
        getJSON('sessions'), getJSON('labs'), getJSON('host'), getJSON('netlab-ops'),
        getJSON('debug/health')]);
      v = { sessions, labs, host, ops, health };
    } catch (e) {
      if (e instanceof AuthError) {
        needAccess();
      } else {
        say('Could not read the server state: ' + e.message, 'error');
        readFailed = true;
      }
      return;
    }
    if (readFailed)
      $('message').hidden = true;
    readFailed = false;
    view = v;
    readAt = performance.now();
    render();
    setText('updated', 'updated ' + fmtClock(Date.now() / 1000).slice(11));
  }

  /* --- rendering --- */

  function render() {
    if (view === null)
      return;
    tickers = [];
    renderServer(view.host, view.health);
    renderAdminBar();
    renderSessions(view.sessions);
    renderLabs(view.labs);
    renderOps(view.ops);
  }

  function renderServer(host, health) {
    const draining = !!(host.draining || health.draining);
    document.title = 'Remote Lab Manager — ' + host.name;
    setText('host-name', host.name);
    const mode = $('mode');
    mode.dataset.mode = draining ? 'draining' : 'serving';
    mode.replaceChildren(draining ? badge('draining', 'draining') : badge('serving', 'serving'));
    if (draining)
      mode.append(' no new promotions; running sessions finish');
    setText('version', host.version);
    $('uptime').replaceChildren(ticking(health.uptime));
    setText('slots', host.slots + ' (' + host.free_slots + ' free)');
    setText('active', String(host.active));
    setText('waiting', String(host.waiting));
    setText('host-wait', host.estimated_wait === null ? (host.free_slots > 0 && !draining ? 'none' : 'unknown')
      : fmtDuration(host.estimated_wait));
  }

  function adminButton(text, attrs, onClick) {
    const b = el('button', Object.assign({ type: 'button', class: 'admin', 'data-admin': text }, attrs), text);
    b.addEventListener('click', onClick);
    return b;
  }

  function renderAdminBar() {
    const bar = $('admin-bar');
    if (!tokens.admin || view === null) {
      bar.replaceChildren();
      return;
    }
    const draining = $('mode').dataset.mode === 'draining';
    bar.replaceChildren(
      el('span', { class: 'admin-label' }, 'Admin'),
      draining
        ? adminButton('Undrain', { id: 'undrain' }, () => act('POST', 'admin/undrain', 'Undrain'))
        : adminButton('Drain', { id: 'drain' }, () => act('POST', 'admin/drain', 'Drain')),
      adminButton('Sign out', { id: 'admin-sign-out', class: 'admin quiet' }, () => {
        setToken('admin', null);
        render();
      }));
  }

  function renderSessions(data) {
    const admin = !!tokens.admin;
    const columns = ['Handle', 'State', 'Position', 'Priority', 'Label', 'Age', 'Last seen',
      'Lab', 'Estimated wait'];
    if (admin)
      columns.push('');
    const list = data.sessions.slice(0, SESSION_ROWS_MAX);
    const rows = list.map((s) => {
      const lab = s.slot === null ? '–'
        : el('span', null, 'slot ' + s.slot, s.lab_hash ? el('span', { class: 'hash', title: s.lab_hash }, ' ' + s.lab_hash.slice(0, 12)) : null);
      const cells = [
        el('td', { class: 'handle' }, s.handle),
        el('td', null, badge(s.state)),
        el('td', { class: 'num' }, s.state === 'active' ? '–' : String(s.position)),
        el('td', { class: 'num' }, String(s.priority)),
        el('td', { class: 'label' }, s.label === null ? '' : s.label),
        el('td', null, ticking(s.age)),
        el('td', null, ticking(s.last_seen_age)),
        el('td', null, lab),
        el('td', null, s.state === 'waiting' ? (s.estimated_wait === null ? 'unknown' : fmtDuration(s.estimated_wait)) : '–'),
      ];
      if (admin)
        cells.push(el('td', { class: 'actions' }, adminButton('End', { 'data-handle': s.handle }, () => {
          if (confirm('End session ' + s.handle + (s.label ? ' (' + s.label + ')' : '') + '? Its lab is let go of.'))
            act('DELETE', 'admin/sessions/' + encodeURIComponent(s.handle), 'End ' + s.handle);
        })));
      return el('tr', { 'data-handle': s.handle, 'data-state': s.state }, ...cells);
    });
    fillTable('sessions', columns, rows);
    const more = data.sessions.length - list.length;
    setText('sessions-note', data.sessions.length === 0 ? 'No sessions.'
      : more > 0 ? 'and ' + more + ' more waiting' : '');
  }

  function devicesCell(devices) {
    if (!devices || devices.length === 0)
      return '–';
    return el('ul', { class: 'devices' }, ...devices.map((d) =>
      el('li', { 'data-device': d.name }, el('span', { class: 'dev' }, d.name), ' ',
        el('span', { class: 'addr' }, d.mgmt_ipv4 === null ? 'no management address' : d.mgmt_ipv4))));
  }

  function renderLabs(data) {
    const admin = !!tokens.admin;
    const columns = ['Slot', 'State', 'Topology', 'Hash', 'Holder', 'Users', 'Uptime', 'Devices'];
    if (admin)
      columns.push('');
    const rows = data.labs.map((l) => {
      const notes = [];
      if (l.idle)
        notes.push(l.idle_expires_in === null ? 'idle' : 'idle, kept ' + fmtDuration(l.idle_expires_in));
      if (l.pinned)
        notes.push('pinned');
      const cells = [
        el('td', { class: 'num' }, String(l.slot), el('span', { class: 'sub' }, ' instance ' + l.instance)),
        el('td', null, badge(l.state), notes.length ? el('span', { class: 'sub' }, ' ' + notes.join(', ')) : null),
        el('td', null, l.topology === null ? '–' : l.topology),
        el('td', { class: 'hash', title: l.hash || '' }, l.hash ? l.hash.slice(0, 12) : '–'),
        el('td', { class: 'handle' }, l.holder === null ? '–' : l.holder),
        el('td', { class: 'num' }, String(l.ref_count)),
        el('td', null, l.uptime === null ? '–' : ticking(l.uptime)),
        el('td', null, devicesCell(l.devices)),
      ];
      if (admin)
        cells.push(el('td', { class: 'actions' }, adminButton('Destroy', { 'data-slot': l.slot }, () => {
          if (confirm('Force-destroy the lab in slot ' + l.slot + ' (' + (l.topology || 'no topology') + ')? Its holder keeps its session.'))
            act('DELETE', 'admin/labs/' + encodeURIComponent(l.slot), 'Destroy slot ' + l.slot);
        })));
      return el('tr', { 'data-slot': l.slot, 'data-state': l.state }, ...cells);
    });
    fillTable('labs', columns, rows);
    setText('labs-note', data.labs.length === 0 ? 'No lab is up (' + data.slots + (data.slots === 1 ? ' slot' : ' slots') + ' free).' : '');
  }

  /* The failures whose output the operator opened: they stay open through later renders. */
  const openTails = new Set();

  function tailOf(o) {
    const key = o.time + ' ' + o.command;
    const d = el('details', { class: 'tail', open: openTails.has(key) },
      el('summary', null, 'netlab output (tail)'), el('pre', null, o.stderr_tail));
    d.addEventListener('toggle', () => {
      if (d.open)
        openTails.add(key);
      else
        openTails.delete(key);
    });
    return d;
  }

  function renderOps(data) {
    const ops = data.operations.slice().reverse(); /* newest first */
    const keys = new Set(ops.map((o) => o.time + ' ' + o.command));
    for (const k of openTails)
      if (!keys.has(k))
        openTails.delete(k);
    const rows = ops.map((o) => {
      const detail = [];
      if (o.cwd)
        detail.push(el('div', { class: 'sub' }, 'in ' + o.cwd));
      if (!o.ok && o.stderr_tail)
        detail.push(tailOf(o));
      return el('tr', { 'data-ok': o.ok ? 'true' : 'false' },
        el('td', { class: 'when' }, fmtClock(o.time)),
        el('td', { class: 'cmd' }, el('code', null, o.command), ...detail),
        el('td', { class: 'num' }, fmtDuration(o.duration)),
        el('td', null, o.ok ? badge('ok', 'ok') : badge('failed', 'failed'), el('span', { class: 'sub' }, ' ' + o.result)));
    });
    fillTable('ops', ['Started', 'Command', 'Duration', 'Result'], rows);
    setText('ops-note', ops.length === 0 ? 'No netlab operation yet.' : '');
  }

  /* --- admin actions --- */

  async function act(method, path, what) {
    if (!tokens.admin)
      return;
    let r, body = null;
    try {
      r = await fetch(path, { method, headers: { Authorization: 'Bearer ' + tokens.admin }, cache: 'no-store' });
      body = await r.json().catch(() => null);
    } catch (e) {
      say(what + ' failed: ' + e.message, 'error');
      return;
    }
    const detail = body && typeof body.detail === 'string' ? body.detail : 'HTTP ' + r.status;
    if (r.status === 401) {
      setToken('admin', null);
      render();
      say('The server refused the admin token; admin actions are hidden again.', 'error');
    } else if (r.status === 404 && detail === 'Not Found') {
      setToken('admin', null);
      render();
      say('Admin actions are off on this server (it runs without --admin-token-file).', 'error');
    } else if (!r.ok) {
      say(what + ' failed: ' + detail, 'error');
    } else {
      say(what + ': done.', 'info');
    }
    refresh();
  }

  /* --- the event stream --- */

  /* One reader for both cases, with or without an access token: fetch() with the
   * Authorization header (EventSource cannot send one). On every event the views are read
   * again; after a (re)connection too, which covers whatever happened while away. */
  let streamRun = 0;      /* bumped to stop the running reader loop */
  let streamAbort = null; /* aborts the current connection */
  let retryMs = 3000;     /* the server's retry: field */

  function delay(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function stopStream() {
    streamRun++;
    if (streamAbort)
      streamAbort.abort();
  }

  async function stream() {
    stopStream();
    const run = streamRun;
    let connectedOnce = false;
    while (run === streamRun) {
      const conn = new AbortController();
      streamAbort = conn;
      setConn('connecting', connectedOnce ? 'reconnecting' : 'connecting');
      try {
        const r = await fetch('events', { headers: readHeaders({ Accept: 'text/event-stream' }), cache: 'no-store', signal: conn.signal });
        if (r.status === 401) {
          if (run === streamRun)
            needAccess();
          return;
        }
        if (!r.ok || r.body === null)
          throw new Error('HTTP ' + r.status);
        connectedOnce = true;
        $('access').hidden = true;
        setConn('live', 'live');
        refresh();
        await readEvents(r.body.getReader(), run, conn);
      } catch (e) {
        /* refused, cut, or silent too long: try again below */
      }
      if (run !== streamRun)
        return;
      setConn('offline', 'offline, retrying in ' + Math.round(retryMs / 1000) + ' s');
      await delay(retryMs);
    }
  }

  /* Server-sent events (the WHATWG event-stream format): an event ends at a blank line and
   * counts when it had data. The server's pings (comments, every 15 s) keep the stream
   * alive; one silent for SILENCE_MAX_MS is cut, and stream() connects again. */
  async function readEvents(reader, run, conn) {
    const decoder = new TextDecoder();
    const state = { buf: '', data: false };
    let watchdog = 0;
    const watch = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => conn.abort(), SILENCE_MAX_MS);
    };
    try {
      watch();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || run !== streamRun)
          return;
        watch();
        state.buf += decoder.decode(value, { stream: true });
        readLines(state);
        if (state.buf.length > EVENT_LINE_MAX)
          throw new Error('event stream line too long');
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  /* Take the whole lines out of state.buf; an event with data makes the views be read. */
  function readLines(state) {
    for (;;) {
      const m = /\r\n|\r|\n/.exec(state.buf);
      if (m === null || (m[0] === '\r' && m.index === state.buf.length - 1))
        return; /* no whole line yet (a lone \r may be half of \r\n) */
      const line = state.buf.slice(0, m.index);
      state.buf = state.buf.slice(m.index + m[0].length);
      if (line === '') {
        if (state.data)
          refresh();
        state.data = false;
        continue;
      }
      if (line[0] === ':')
        continue; /* a comment: the server's pings */
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value[0] === ' ')
        value = value.slice(1);
      if (field === 'data')
        state.data = true;
      else if (field === 'retry' && /^[0-9]+$/.test(value))
        retryMs = Math.min(Math.max(Number(value), 1000), 60000);
    }
  }

  function needAccess() {
    stopStream();
    setConn('unauthorized', 'access token needed');
    $('access').hidden = false;
    if (tokens.access)
      say('The server refused the access token.', 'error');
    $('access-token').focus();
  }

  /* --- start --- */

  function start() {
    loadToken('access');
    loadToken('admin');
    takeFragment();
    $('access-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = $('access-token');
      setToken('access', input.value.trim());
      input.value = '';
      $('message').hidden = true;
      stream();
    });
    $('admin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = $('admin-token');
      setToken('admin', input.value.trim());
      input.value = '';
      $('operator').open = false;
      render();
    });
    $('forget').addEventListener('click', () => {
      setToken('admin', null);
      setToken('access', null);
      render();
      say('Tokens forgotten.', 'info');
    });
    setInterval(tick, 1000);
    stream();
  }

  start();
})();
