// The console page: no build step, no framework. It draws what the server's event stream
// (/events) sends: the topology, the access log and the per-route statistics, and posts the
// actions and the Host tester's requests as JSON.
import { lineChart } from './charts.js';

const LOG_KEPT = 500;
const LOG_SHOWN = 200;
const state = { topology: null, requests: new Map(), stats: [], live: false };
const $ = (id) => document.getElementById(id);

/** An element with attributes (`on*` functions become listeners) and children. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

/**
 * Redraws held while a pointer is pressed: a button replaced between its press and its release
 * gets no click (the page redraws the topology on every health check), so the newest redraw of
 * each container waits, and is drawn once the click that the release completes has run.
 */
const held = new Map();
let pressed = false;
document.addEventListener('pointerdown', () => (pressed = true), true);
for (const type of ['pointerup', 'pointercancel']) {
  document.addEventListener(
    type,
    () => {
      pressed = false;
      setTimeout(() => {
        for (const [container, children] of held) {
          held.delete(container);
          redraw(container, ...children);
        }
      }, 0);
    },
    true,
  );
}

/** Redraws a container, keeping keyboard focus on the element with the same data-key. */
function redraw(container, ...children) {
  if (pressed) {
    held.set(container, children);
    return;
  }
  const key = container.contains(document.activeElement)
    ? document.activeElement.dataset.key
    : undefined;
  container.replaceChildren(...children);
  if (key !== undefined) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

function notice(text, isError = false) {
  const element = $('notice');
  element.textContent = text;
  element.dataset.error = String(isError);
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const value = await response.json();
  if (!response.ok) throw new Error(value.detail ?? `${response.status}`);
  return value;
}

async function act(task, action) {
  try {
    // The row's task: refused (409) if the slot has moved on to another task since it was drawn.
    const { message } = await post(`/api/replicas/${task.service}/${task.slot}/${action}`, {
      task: task.id,
    });
    notice(message);
  } catch (error) {
    notice(`${action} ${task.service}/${task.slot}: ${error.message}`, true);
  }
}

// ------------------------------------------------------------------------------- topology

function taskActions(task) {
  if (task.state === 'stopped') return h('span', { class: 'hint' }, task.reason);
  const button = (action, label, title) =>
    h(
      'button',
      {
        type: 'button',
        title,
        dataset: { key: `${task.service}/${task.slot}/${action}`, action },
        // Nothing to act on while the stack is unreachable (its tasks shown are the last seen).
        disabled: !state.live,
        onclick: () => act(task, action),
      },
      label,
    );
  return h(
    'span',
    { class: 'actions' },
    button(
      'stop',
      'stop',
      'As ECS stops a task: deregister, drain, SIGTERM, SIGKILL after the stop timeout',
    ),
    button('kill', 'kill', 'SIGKILL, as a crash'),
    task.paused
      ? button('resume', 'resume', 'SIGCONT')
      : button('pause', 'pause', 'SIGSTOP: alive, answering nothing'),
  );
}

function checks(task) {
  return h(
    'span',
    { class: 'checks', 'aria-label': 'last health checks' },
    task.checks.map((c) =>
      h(
        'span',
        {
          class: c.passed ? 'pass' : 'fail',
          title: `${new Date(c.at).toLocaleTimeString()} ${c.text}`,
        },
        c.passed ? '✓' : '✗',
      ),
    ),
  );
}

function taskRow(task) {
  return h(
    'li',
    {
      class: 'task',
      dataset: {
        task: task.id,
        state: task.state,
        slot: `${task.service}/${task.slot}`,
        stale: String(!state.live),
      },
    },
    h('span', { class: `badge ${task.state}` }, task.paused ? `${task.state}, paused` : task.state),
    state.live ? null : h('span', { class: 'badge stale' }, 'stale'),
    h('strong', {}, `${task.service}/${task.slot}`),
    h('span', { class: 'mono' }, `:${task.port}`),
    h('span', { class: 'hint' }, `pid ${task.pid ?? '-'} · restarts ${task.restarts}`),
    checks(task),
    taskActions(task),
  );
}

function targetGroup(group) {
  const hc = group.healthCheck;
  return h(
    'article',
    { class: 'card', dataset: { group: group.name } },
    h('h3', {}, `target group ${group.name}`),
    h(
      'p',
      { class: 'hint' },
      `GET ${hc.path} every ${hc.intervalMs} ms (timeout ${hc.timeoutMs} ms, healthy ${hc.healthyThreshold}, unhealthy ${hc.unhealthyThreshold}, codes ${hc.codes}); deregistration delay ${group.deregistrationDelayMs} ms`,
    ),
    h('ul', { class: 'tasks' }, group.tasks.map(taskRow)),
  );
}

function renderTopology() {
  const t = state.topology;
  $('stack-name').textContent = `${t.application} / ${t.environment}`;
  $('urls').textContent = `HTTP API ${t.apiUrl} · ALB ${t.albUrl} (Host ${t.albHost})`;
  const routes = h(
    'div',
    { class: 'column' },
    h('h3', {}, 'HTTP API routes'),
    t.routes.map((r) =>
      h(
        'article',
        { class: 'card route', dataset: { route: r.routeKey } },
        h('strong', { class: 'mono' }, r.routeKey),
        h(
          'span',
          { class: 'hint' },
          ` → ${r.rule ? `rule ${r.rule}` : 'no rule: 503'} · ${r.rateLimit} req/s, burst ${r.burstLimit}`,
        ),
      ),
    ),
  );
  const rules = h(
    'div',
    { class: 'column' },
    h('h3', {}, 'ALB listener rules'),
    t.rules.map((r) =>
      h(
        'article',
        { class: 'card rule', dataset: { rule: r.id } },
        h('strong', {}, `${r.order}. rule ${r.id}`),
        h('p', { class: 'mono' }, `host-header: ${r.hosts.join(' | ')}`),
        h('p', { class: 'mono' }, `path-pattern: ${r.paths.join(' | ')}`),
        h('p', { class: 'hint' }, `→ target group ${r.targetGroup}`),
      ),
    ),
    h(
      'article',
      { class: 'card rule' },
      h('strong', {}, 'default'),
      h('p', { class: 'hint' }, t.defaultAction),
    ),
  );
  const groups = h(
    'div',
    { class: 'column wide' },
    h('h3', {}, 'Target groups and tasks'),
    t.targetGroups.map(targetGroup),
  );
  redraw($('topology'), routes, rules, groups);
  renderRouteFilter();
}

// ----------------------------------------------------------------------------- statistics

const ms = (value) => (value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0));

function renderStats() {
  redraw(
    $('stats'),
    ...state.stats.map((s) => {
      const rate = (s.total / s.rate.length).toFixed(2);
      return h(
        'article',
        { class: 'card', dataset: { stats: s.routeKey } },
        h('strong', { class: 'mono' }, s.routeKey === '-' ? '(no route: 404)' : s.routeKey),
        h(
          'p',
          {},
          `${s.total} requests, ${rate} req/s · p50 ${ms(s.minuteP50)} ms · p99 ${ms(s.minuteP99)} ms`,
        ),
        lineChart(
          [{ values: s.rate, className: 'rate' }],
          `requests per second over the last minute, ${s.total} in all`,
        ),
        lineChart(
          [
            { values: s.p99, className: 'p99' },
            { values: s.p50, className: 'p50' },
          ],
          `p50 and p99 latency per second: p50 ${ms(s.minuteP50)} ms, p99 ${ms(s.minuteP99)} ms over the minute`,
        ),
      );
    }),
  );
}

// ----------------------------------------------------------------------------- access log

function renderRouteFilter() {
  const select = $('filter-route');
  const keys = [...state.topology.routes.map((r) => r.routeKey), '-'];
  const chosen = select.value;
  // replaceChildren takes nodes, not an array (an array would be written as its text).
  select.replaceChildren(
    h('option', { value: '' }, 'all'),
    ...keys.map((k) =>
      h('option', { value: k, selected: k === chosen }, k === '-' ? '(no route)' : k),
    ),
  );
}

/** A request's status as the access log writes it: "-" when no answer went out (the client left). */
const statusText = (status) => (status < 0 ? '-' : String(status));

function showRecord(record) {
  redraw(
    $('record-served'),
    h('dt', {}, 'request'),
    h('dd', { class: 'mono' }, `${record.method} ${record.path} → ${statusText(record.status)}`),
    h('dt', {}, 'HTTP API route'),
    h(
      'dd',
      { class: 'mono' },
      record.routeKey === '-' ? 'none (API Gateway 404)' : record.routeKey,
    ),
    h('dt', {}, 'ALB rule'),
    h('dd', {}, record.rule ?? 'none'),
    h('dt', {}, 'replica'),
    h(
      'dd',
      {},
      record.replica ? `${record.replica} (${record.target})` : 'none: not sent to a task',
    ),
  );
  $('record-fields').replaceChildren(
    ...Object.entries(record.fields).map(([name, value]) =>
      h('tr', {}, h('th', { class: 'mono' }, name), h('td', { class: 'mono' }, String(value))),
    ),
  );
  $('record').showModal();
}

function logRow(record) {
  const open = () => showRecord(record);
  return h(
    'tr',
    {
      tabindex: 0,
      dataset: {
        seq: String(record.seq),
        status: statusText(record.status),
        key: `log-${record.seq}`,
      },
      onclick: open,
      onkeydown: (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          open();
        }
      },
    },
    h('td', {}, new Date(record.at).toLocaleTimeString()),
    h('td', {}, record.method),
    h('td', { class: 'mono' }, record.path),
    h('td', { class: 'mono' }, record.routeKey),
    h('td', { class: `status s${statusText(record.status)[0]}` }, statusText(record.status)),
    h('td', {}, ms(record.latencyMs)),
    h('td', {}, record.replica ?? '-'),
  );
}

function renderLog() {
  const status = $('filter-status').value;
  const route = $('filter-route').value;
  const all = [...state.requests.values()];
  const shown = all.filter(
    (r) =>
      (status === '' || statusText(r.status)[0] === status) &&
      (route === '' || r.routeKey === route),
  );
  $('log-count').textContent = `${shown.length} of ${all.length} kept`;
  redraw($('log').tBodies[0], ...shown.slice(0, LOG_SHOWN).map(logRow));
}

function addRequests(list) {
  for (const record of list) state.requests.set(record.seq, record);
  // Newest first: a Map keeps insertion order, so rebuild it sorted when new ones came.
  const sorted = [...state.requests.values()].sort((a, b) => b.seq - a.seq).slice(0, LOG_KEPT);
  state.requests = new Map(sorted.map((r) => [r.seq, r]));
  renderLog();
}

// ----------------------------------------------------------------------------- Host tester

async function probe(event) {
  event.preventDefault();
  const host = $('tester-host').value.trim();
  const path = $('tester-path').value.trim();
  const out = $('tester-result');
  try {
    const result = await post('/api/probe', { host, path });
    redraw(
      out,
      h(
        'p',
        {},
        h(
          'span',
          {
            class: `status big s${String(result.status)[0]}`,
            dataset: { status: String(result.status) },
          },
          String(result.status),
        ),
        ` GET ${result.path} with Host ${result.host}`,
      ),
      h('p', {}, result.explanation),
      ...(result.target ? [h('p', { class: 'hint' }, `answered by ${result.target}`)] : []),
    );
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message));
  }
}

// ----------------------------------------------------------------------------- wiring

/**
 * Live, or lost: with the stack unreachable, the whole page says so (a banner, every task
 * marked stale, the actions and the Host tester disabled) until the stream is back.
 */
function setLive(live) {
  state.live = live;
  document.body.dataset.stack = live ? 'live' : 'lost';
  const connection = $('connection');
  connection.dataset.state = live ? 'live' : 'reconnecting';
  connection.textContent = live ? 'live' : 'reconnecting…';
  $('lost').hidden = live;
  $('tester').querySelector('button').disabled = !live;
  if (state.topology !== null) renderTopology();
}

function connect() {
  const events = new EventSource('/events');
  events.onopen = () => setLive(true);
  events.onerror = () => {
    if (state.live || state.topology === null) setLive(false);
  };
  events.addEventListener('topology', (e) => {
    const first = state.topology === null;
    state.topology = JSON.parse(e.data);
    // How many topologies have arrived (drawn or held): what the end-to-end test waits on.
    $('topology').dataset.received = String(Number($('topology').dataset.received ?? 0) + 1);
    renderTopology();
    if (first) {
      $('tester-host').value ||= state.topology.albHost;
      $('tester-path').value ||= state.topology.rules[0]?.paths[0] ?? '/';
    }
  });
  events.addEventListener('requests', (e) => addRequests(JSON.parse(e.data)));
  events.addEventListener('stats', (e) => {
    state.stats = JSON.parse(e.data);
    renderStats();
  });
  events.addEventListener('notice', (e) => notice(JSON.parse(e.data), true));
}

$('filter-status').addEventListener('change', renderLog);
$('filter-route').addEventListener('change', renderLog);
$('tester').addEventListener('submit', probe);
connect();
