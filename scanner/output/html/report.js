// keyaudit HTML report: builds the interactive views from the JSON block. Everything from the scan is
// inserted as DOM text (textContent / append(string)), never parsed as markup.
(() => {
  'use strict';

  const data = JSON.parse(document.getElementById('keyaudit-data').textContent);
  const rules = data.rules;
  const resources = data.resources;
  const findings = data.findings;
  const SEV_RANK = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
  const STATUSES = ['fail', 'error', 'unknown', 'pass'];
  const PAGE = 500; // rows or findings rendered before a "show more" button
  const $ = (id) => document.getElementById(id);

  // Control characters (ANSI escapes, NUL, ...) and bidi overrides become visible escapes.
  const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const SHORT = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };
  const escapeChar = (c) => {
    const n = c.charCodeAt(0);
    if (SHORT[c]) return SHORT[c];
    return n < 256 ? '\\x' + n.toString(16).padStart(2, '0') : '\\u' + n.toString(16).padStart(4, '0');
  };
  function visible(value, oneLine = true) {
    const text = (value === null || value === undefined ? '' : String(value)).replace(INVISIBLE, escapeChar);
    return oneLine ? text.replace(/[\n\t]/g, escapeChar) : text;
  }
  // Class names only from fixed vocabularies, whatever the data says.
  const known = (value, allowed) => (allowed.includes(value) ? value : 'other');
  const sevClass = (s) => 'sev-' + known(s, Object.keys(SEV_RANK));
  const statusClass = (s) => 'status-' + known(s, [...STATUSES, 'waived']);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = visible(value);
      else if (name === 'block') node.textContent = visible(value, false);
      else if (name === 'title') node.title = visible(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === 'string' ? visible(child) : child);
    }
    return node;
  }
  const badge = (kind, value, text) => el('span', { class: kind === 'status' ? 'status ' + statusClass(value) : 'sev ' + sevClass(value) }, text || value);
  const fill = (select, values, label) => {
    for (const v of values) select.append(el('option', { value: v }, label ? label(v) : v));
  };
  const unique = (values) => [...new Set(values.filter((v) => v !== null && v !== undefined))].sort();
  const debounce = (fn) => {
    let timer = 0;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(fn, 120);
    };
  };
  const atLeast = (sev, min) => !min || (sev !== null && sev !== undefined && SEV_RANK[sev] >= SEV_RANK[min]);
  const sevLabel = (s) => (s === 'critical' ? 'critical' : s + ' or above');
  const where = (r) => r.p + ':' + r.s + (r.l ? '/' + r.l : '');
  const providers = unique(resources.map((r) => r.p));

  function pager(button, total, shown, onMore) {
    button.hidden = total <= shown;
    button.textContent = 'Show ' + Math.min(PAGE, total - shown) + ' more of ' + (total - shown) + ' not shown';
    button.onclick = onMore;
  }

  // ------------------------------------------------------------------------------------------ keys
  const keyRows = resources.map((r, index) => ({
    r,
    index,
    text: [r.n, r.u, r.s, r.l, r.t, ...r.f.map((f) => rules[f[0]].id)].join('\n').toLowerCase(),
  }));
  const keys = {
    search: $('keys-search'), kind: $('keys-kind'), provider: $('keys-provider'),
    status: $('keys-status'), severity: $('keys-severity'), count: $('keys-count'),
    body: document.querySelector('#keys-table tbody'), more: $('keys-more'), limit: PAGE,
  };
  fill(keys.kind, unique(resources.map((r) => r.kind)).filter((k) => k !== 'key'), (k) => k + ' only');
  fill(keys.provider, providers);
  fill(keys.status, [...STATUSES, 'waived']);
  fill(keys.severity, data.severities, sevLabel);

  function keyRow(r, index) {
    const failing = el('td', { class: 'rules' });
    for (const [ruleIndex, status, waived] of r.f) {
      const rule = rules[ruleIndex];
      failing.append(el('span', {
        class: 'chip ' + sevClass(rule.sev) + (waived ? ' waived' : ''),
        title: rule.title + ' (' + status + (waived ? ', waived' : '') + ')',
      }, rule.id + (status === 'fail' ? '' : ' (' + status + ')') + (waived ? ' [waived]' : '')));
    }
    const counts = STATUSES.filter((s) => r.c[s]).map((s) => r.c[s] + ' ' + s);
    if (r.x) counts.push(r.x + ' waived');
    const keyCell = el('td', { class: 'key' },
      el('div', { class: 'name', text: r.n || '(no name)' }),
      el('code', { class: 'uid', text: r.u }));
    if (r.kind !== 'key') keyCell.append(el('div', { class: 'kind', text: r.kind + ': ' + r.t }));
    return el('tr', { 'data-index': index, class: r.w ? statusClass(r.w) : null },
      el('td', { text: r.p }), el('td', {}, el('code', { text: r.s })), el('td', { text: r.l || '-' }), keyCell,
      el('td', {}, r.w ? badge('status', r.w) : '-'),
      el('td', {}, r.v ? badge('sev', r.v) : '-'),
      failing,
      el('td', { class: 'counts' }, counts.join(', '), ' ',
        el('button', { type: 'button', class: 'link', 'data-resource': index }, 'details')));
  }

  function renderKeys() {
    const q = keys.search.value.trim().toLowerCase();
    const kind = keys.kind.value, provider = keys.provider.value, status = keys.status.value, sev = keys.severity.value;
    const ofKind = keyRows.filter(({ r }) => !kind || r.kind === kind);
    const rows = ofKind.filter(({ r, text }) =>
      (!provider || r.p === provider) && (!status || r.w === status) && atLeast(r.v, sev) && (!q || text.includes(q)));
    const fragment = document.createDocumentFragment();
    for (const { r, index } of rows.slice(0, keys.limit)) fragment.append(keyRow(r, index));
    keys.body.replaceChildren(fragment);
    keys.count.textContent = rows.length + ' of ' + ofKind.length + (kind ? ' ' + kind + '(s)' : ' resources') + ' match';
    pager(keys.more, rows.length, Math.min(rows.length, keys.limit), () => { keys.limit += PAGE; renderKeys(); });
  }
  const keysChanged = () => { keys.limit = PAGE; renderKeys(); };
  keys.search.addEventListener('input', debounce(keysChanged));
  for (const select of [keys.kind, keys.provider, keys.status, keys.severity]) select.addEventListener('change', keysChanged);
  keys.body.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-resource]');
    if (button) showResourceFindings(Number(button.getAttribute('data-resource')));
  });

  // ------------------------------------------------------------------------ segregation of duties
  const sodRows = data.sod.map((s) => {
    const r = resources[s.r];
    const everyone = [...s.admins, ...s.users];
    const statuses = Object.values(s.st);
    return {
      s, r,
      conflict: s.st.key_admin_separated_from_use === 'fail' || s.admins.some((p) => p.flags.includes('conflict')),
      undeclared: everyone.some((p) => p.flags.includes('undeclared')),
      unknown: statuses.includes('unknown') || statuses.includes('error'),
      text: [r.n, r.u, r.s, r.l, ...everyone.map((p) => p.u)].join('\n').toLowerCase(),
    };
  }).sort((a, b) => (b.conflict - a.conflict) || (b.undeclared - a.undeclared) ||
    (a.r.p + (a.r.n || a.r.u)).localeCompare(b.r.p + (b.r.n || b.r.u)));
  const sod = {
    search: $('sod-search'), provider: $('sod-provider'), show: $('sod-show'), count: $('sod-count'),
    body: document.querySelector('#sod-table tbody'), more: $('sod-more'), limit: PAGE,
  };
  fill(sod.provider, unique(sodRows.map((row) => row.r.p)));

  function principalList(list, count, role) {
    const ul = el('ul', { class: 'principals' });
    for (const p of list) {
      const flags = p.flags.filter((f) => f === 'conflict' || f === 'undeclared');
      const caps = p.flags.includes('conflict') ? (role === 'admin' ? p.admin : p.use) : p.caps;
      const li = el('li', { class: ['principal', ...flags].join(' ') },
        el('code', { class: 'uid', text: p.u }), ' ', el('span', { class: 'kind', text: p.k || 'principal' }));
      for (const flag of flags) li.append(' ', el('span', { class: 'flag ' + flag }, flag));
      if (caps && caps.length) li.append(el('div', { class: 'caps', text: caps.join(', ') }));
      if (p.via && p.via.length) li.append(el('div', { class: 'via', text: 'via ' + p.via.join('; ') }));
      ul.append(li);
    }
    if (count > list.length) {
      ul.append(el('li', { class: 'more' }, (count - list.length) + ' more counted by the rules but not listed in their evidence'));
    }
    if (!list.length && !count) ul.append(el('li', { class: 'none' }, 'none'));
    return ul;
  }

  function sodRow({ s, r, conflict, unknown }) {
    const verdict = el('td', { class: 'verdict' });
    if (conflict) {
      const n = s.admins.filter((p) => p.flags.includes('conflict')).length;
      verdict.append(el('strong', { class: 'flag conflict' }, 'conflict: ' + n + ' principal(s) administer and use'));
    } else if (unknown) {
      verdict.append(el('strong', { class: 'flag unknown' }, 'not judged: access could not be read'));
    } else {
      verdict.append(el('span', { class: 'flag separated' }, 'separated'));
    }
    const checks = el('ul', { class: 'checks' });
    for (const [ruleId, status] of Object.entries(s.st).sort()) checks.append(el('li', {}, badge('status', status), ' ', ruleId));
    verdict.append(checks);
    if (s.unreadable.length) verdict.append(el('div', { class: 'via', text: 'unreadable: ' + JSON.stringify(s.unreadable) }));
    if (s.dropped) verdict.append(el('div', { class: 'via' }, s.dropped + ' principal(s) beyond the report cap not shown'));
    return el('tr', { class: conflict ? 'has-conflict' : null },
      el('td', { class: 'key' }, el('div', { class: 'name', text: r.n || '(no name)' }),
        el('code', { class: 'uid', text: r.u }), el('div', { class: 'kind', text: where(r) })),
      el('td', {}, principalList(s.admins, s.ac, 'admin')),
      el('td', {}, principalList(s.users, s.uc, 'use')),
      verdict);
  }

  function renderSod() {
    const q = sod.search.value.trim().toLowerCase(), provider = sod.provider.value, show = sod.show.value;
    const rows = sodRows.filter((row) => (!provider || row.r.p === provider) && (!show || row[show]) && (!q || row.text.includes(q)));
    const fragment = document.createDocumentFragment();
    for (const row of rows.slice(0, sod.limit)) fragment.append(sodRow(row));
    sod.body.replaceChildren(fragment);
    const conflicts = rows.filter((row) => row.conflict).length;
    sod.count.textContent = rows.length + ' of ' + sodRows.length + ' keys match; ' + conflicts + ' with conflicts';
    pager(sod.more, rows.length, Math.min(rows.length, sod.limit), () => { sod.limit += PAGE; renderSod(); });
  }
  const sodChanged = () => { sod.limit = PAGE; renderSod(); };
  sod.search.addEventListener('input', debounce(sodChanged));
  sod.provider.addEventListener('change', sodChanged);
  sod.show.addEventListener('change', sodChanged);

  // ------------------------------------------------------------------------------------- findings
  const fs = {
    search: $('findings-search'), status: $('findings-status'), severity: $('findings-severity'),
    provider: $('findings-provider'), group: $('findings-group'), count: $('findings-count'),
    list: $('findings-list'), expand: $('findings-expand'), pinned: null,
  };
  const unpin = el('button', { type: 'button', id: 'findings-unpin', hidden: true }, 'Show all resources');
  fs.count.before(unpin);
  unpin.addEventListener('click', () => { fs.pinned = null; renderFindings(false); });
  fill(fs.status, STATUSES.filter((s) => s !== 'pass'));
  fill(fs.severity, data.severities, sevLabel);
  fill(fs.provider, providers);
  $('findings-note').textContent = 'Listed: every fail, unknown and error finding up to a cap of ' +
    data.cap.toLocaleString('en') + ' (' + data.listed.toLocaleString('en') + ' listed' +
    (data.not_listed ? '; ' + data.not_listed.toLocaleString('en') + ' beyond the cap are counted only' : '') +
    '). Passing findings are counted per rule, not listed. Open a group to see its findings; ' +
    'open "Evidence" for the values the rule looked at.';
  let searchText = null; // built on the first search only
  const findingText = (i) => {
    if (!searchText) {
      searchText = findings.map((f) => {
        const r = resources[f.k];
        return [f.m, r.n, r.u, r.s, r.l, rules[f.r].id, rules[f.r].title, f.id].join('\n').toLowerCase();
      });
    }
    return searchText[i];
  };

  function findingItem(f, byRule) {
    const rule = rules[f.r], r = resources[f.k];
    const head = el('div', { class: 'head' }, badge('status', f.s));
    if (f.w) head.append(' ', el('span', { class: 'status status-waived' }, 'waived'));
    if (!byRule) head.append(' ', badge('sev', rule.sev), ' ', el('strong', { text: rule.id }));
    else head.append(' ', el('strong', { text: r.n || '(no name)' }));
    head.append(' ', el('span', { class: 'where', text: where(r) }));
    const item = el('div', { class: 'finding ' + statusClass(f.s) + (f.w ? ' waived' : ''), 'data-finding': f.id },
      head,
      el('code', { class: 'uid', text: r.u }),
      el('p', { class: 'msg', block: f.m }));
    if (f.w) item.append(el('p', { class: 'waiver', block: 'Waiver: ' + JSON.stringify(f.wv || {}, null, 1) }));
    if (f.ch) item.append(el('p', { class: 'change', text: 'change: ' + f.ch + (f.fs ? ', first seen ' + f.fs : '') }));
    const evidence = el('details', { class: 'evidence' }, el('summary', {}, 'Evidence'));
    evidence.addEventListener('toggle', () => {
      if (evidence.open && evidence.childElementCount === 1) {
        evidence.append(el('pre', { block: JSON.stringify(f.e, null, 2) }));
      }
    });
    const fix = el('details', { class: 'remediation' }, el('summary', {}, 'Remediation'),
      el('p', { block: rule.fix[r.p] || Object.values(rule.fix)[0] || '-' }));
    item.append(evidence, fix, el('div', { class: 'fid', text: 'finding id ' + f.id }));
    return item;
  }

  function ruleHeader(rule) {
    const box = el('div', { class: 'rule-info' });
    const controls = el('div', { class: 'controls' });
    for (const c of rule.controls) controls.append(el('span', { class: 'chip control', text: c }));
    box.append(controls);
    for (const [provider, text] of Object.entries(rule.fix)) {
      box.append(el('p', { class: 'fix' }, el('strong', { text: 'Remediation (' + provider + '): ' }), el('span', { block: text })));
    }
    return box;
  }

  function renderGroupBody(details, group, byRule) {
    let shown = 0;
    const body = el('div', { class: 'group-body' });
    if (byRule) body.append(ruleHeader(rules[group.key]));
    const list = el('div', { class: 'items' });
    const more = el('button', { type: 'button', class: 'more' });
    const page = () => {
      const fragment = document.createDocumentFragment();
      for (const i of group.items.slice(shown, shown + PAGE)) fragment.append(findingItem(findings[i], byRule));
      shown = Math.min(group.items.length, shown + PAGE);
      list.append(fragment);
      pager(more, group.items.length, shown, page);
    };
    body.append(list, more);
    page();
    details.append(body);
  }

  function groupSummary(group, byRule) {
    const summary = el('summary', {});
    if (byRule) {
      const rule = rules[group.key];
      summary.append(badge('sev', rule.sev), ' ', el('strong', { text: rule.title }), ' ', el('code', { text: rule.id }));
      const counts = STATUSES.filter((s) => rule.counts[s]).map((s) => rule.counts[s] + ' ' + s);
      if (rule.counts.waived) counts.push(rule.counts.waived + ' waived');
      summary.append(el('span', { class: 'counts', text: ' ' + counts.join(', ') + (group.items.length ? '; ' + group.items.length + ' listed' : '') +
        (rule.not_listed ? '; ' + rule.not_listed + ' over the cap' : '') }));
    } else {
      const r = resources[group.key];
      summary.append(r.v ? badge('sev', r.v) : '', ' ', el('strong', { text: r.n || '(no name)' }), ' ',
        el('span', { class: 'where', text: where(r) }), ' ', el('code', { class: 'uid', text: r.u }),
        el('span', { class: 'counts', text: ' ' + group.items.length + ' listed' }));
    }
    return summary;
  }

  function renderFindings(openAll) {
    const q = fs.search.value.trim().toLowerCase(), status = fs.status.value, sev = fs.severity.value, provider = fs.provider.value;
    const byRule = fs.group.value === 'rule';
    const pinned = fs.pinned;
    const filtered = !!(q || status || sev || provider) || pinned !== null;
    unpin.hidden = pinned === null;
    const groups = new Map();
    if (byRule && !filtered) for (let i = 0; i < rules.length; i++) groups.set(i, { key: i, items: [] });
    let matched = 0;
    findings.forEach((f, i) => {
      if (status && (status === 'waived' ? !f.w : f.s !== status)) return;
      if (pinned !== null && f.k !== pinned) return;
      if (provider && resources[f.k].p !== provider) return;
      if (!atLeast(rules[f.r].sev, sev)) return;
      if (q && !findingText(i).includes(q)) return;
      const key = byRule ? f.r : f.k;
      if (!groups.has(key)) groups.set(key, { key, items: [] });
      groups.get(key).items.push(i);
      matched++;
    });
    const ordered = [...groups.values()].sort(byRule
      ? (a, b) => (SEV_RANK[rules[b.key].sev] - SEV_RANK[rules[a.key].sev]) || (b.items.length - a.items.length) || rules[a.key].id.localeCompare(rules[b.key].id)
      : (a, b) => ((SEV_RANK[resources[b.key].v] ?? -1) - (SEV_RANK[resources[a.key].v] ?? -1)) || (b.items.length - a.items.length));
    const fragment = document.createDocumentFragment();
    for (const group of ordered) {
      const details = el('details', { class: 'group', 'data-group': byRule ? rules[group.key].id : resources[group.key].u }, groupSummary(group, byRule));
      details.addEventListener('toggle', () => {
        if (details.open && details.childElementCount === 1) renderGroupBody(details, group, byRule);
      });
      if (openAll || (ordered.length === 1 && filtered)) details.open = true;
      fragment.append(details);
    }
    fs.list.replaceChildren(fragment);
    fs.count.textContent = matched + ' of ' + findings.length + ' listed findings match, in ' + ordered.length + ' group(s)' +
      (pinned === null ? '' : ', for ' + visible(resources[pinned].n || resources[pinned].u) + ' only');
  }

  function showResourceFindings(index) {
    fs.group.value = 'resource';
    fs.search.value = fs.status.value = fs.severity.value = fs.provider.value = '';
    fs.pinned = index;
    renderFindings(true);
    $('findings').scrollIntoView();
  }

  fs.search.addEventListener('input', debounce(() => renderFindings(false)));
  for (const select of [fs.status, fs.severity, fs.provider, fs.group]) select.addEventListener('change', () => renderFindings(false));
  fs.expand.addEventListener('click', () => renderFindings(true));

  renderKeys();
  renderSod();
  renderFindings(false);
  document.body.setAttribute('data-ready', 'true');
})();
