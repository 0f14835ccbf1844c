// The chooser's instant search. The page works without it: the form searches on the server.
// This only filters what the page already lists, as the user types, and matches as the server does
// (src/interaction/chooser.ts): directories by their or their education provider's name first, then
// schools by name or code; case and diacritics ignored, so "mansik" finds "Mansikkalan testikoulu".
(function () {
  'use strict';
  var MAX_RESULTS = 50;
  var field = document.getElementById('school-search');
  var results = document.getElementById('search-results');
  var status = document.getElementById('search-status');
  if (!field || !results || !status) return;

  function normalize(text) {
    return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
  }

  // Built once: every directory, then every school of every directory, from the lists in the page.
  var directories = Array.prototype.map.call(document.querySelectorAll('#directories li[data-directory-search]'), function (item) {
    var link = item.querySelector('a.upstream');
    var name = item.querySelector('.directory-name');
    return {
      search: item.getAttribute('data-directory-search') || '',
      href: link ? link.getAttribute('href') : '',
      name: name ? name.textContent : '',
      provider: item.getAttribute('data-provider-name') || '',
    };
  });
  var schools = Array.prototype.map.call(document.querySelectorAll('#directories li[data-search]'), function (item) {
    var link = item.querySelector('a');
    var name = item.querySelector('.school-name');
    var code = item.querySelector('.code');
    return {
      search: item.getAttribute('data-search') || '',
      href: link ? link.getAttribute('href') : '',
      name: name ? name.textContent : '',
      code: code ? code.textContent : '',
      directory: item.getAttribute('data-directory-name') || '',
    };
  });

  var plural = new Intl.PluralRules(document.documentElement.lang || 'fi');

  function span(className, text) {
    var element = document.createElement('span');
    element.className = className;
    element.textContent = text;
    return element;
  }

  function directoryLink(entry) {
    var a = document.createElement('a');
    a.className = 'result directory-result';
    a.href = entry.href;
    a.append(span('school-name', entry.name));
    if (entry.provider) a.append(' ', span('muted', entry.provider));
    var li = document.createElement('li');
    li.appendChild(a);
    return li;
  }

  function schoolLink(entry) {
    var a = document.createElement('a');
    a.className = 'result';
    a.href = entry.href;
    var name = document.createElement('span');
    name.className = 'school-name';
    name.textContent = entry.name;
    var code = document.createElement('span');
    code.className = 'code';
    code.textContent = entry.code;
    var directory = document.createElement('span');
    directory.className = 'muted';
    directory.textContent = entry.directory;
    a.append(name, ' ', code, ' ', directory);
    var li = document.createElement('li');
    li.appendChild(a);
    return li;
  }

  function show(query) {
    var needle = normalize(query);
    results.replaceChildren();
    if (!needle) {
      status.textContent = '';
      return;
    }
    var found = 0;
    var fragment = document.createDocumentFragment();
    var i;
    for (i = 0; i < directories.length; i += 1) {
      if (directories[i].search.indexOf(needle) === -1) continue;
      found += 1;
      if (found <= MAX_RESULTS) fragment.appendChild(directoryLink(directories[i]));
    }
    for (i = 0; i < schools.length; i += 1) {
      if (schools[i].search.indexOf(needle) === -1) continue;
      found += 1;
      if (found <= MAX_RESULTS) fragment.appendChild(schoolLink(schools[i]));
    }
    results.appendChild(fragment);
    var count = (status.getAttribute(plural.select(found) === 'one' ? 'data-found-one' : 'data-found-other') || '{n}').replace('{n}', String(found));
    status.textContent = found === 0 ? status.getAttribute('data-none') : count + (found > MAX_RESULTS ? ' ' + status.getAttribute('data-truncated') : '');
  }

  var timer;
  field.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      show(field.value);
    }, 120);
  });

  function links() {
    return Array.prototype.slice.call(results.querySelectorAll('a'));
  }

  field.addEventListener('keydown', function (event) {
    var first;
    if (event.key === 'ArrowDown') {
      clearTimeout(timer);
      show(field.value);
      first = links()[0];
      if (first) {
        event.preventDefault();
        first.focus();
      }
    } else if (event.key === 'Escape') {
      field.value = '';
      show('');
    }
  });

  results.addEventListener('keydown', function (event) {
    var all = links();
    var at = all.indexOf(document.activeElement);
    if (at === -1) return;
    if (event.key === 'ArrowDown' && at < all.length - 1) {
      event.preventDefault();
      all[at + 1].focus();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      if (at === 0) field.focus();
      else all[at - 1].focus();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      field.value = '';
      show('');
      field.focus();
    }
  });
})();
