// The chooser's instant school search. The page works without it: the form searches on the server.
// This only filters the schools the page already lists, as the user types.
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

  // Built once: every school of every directory, from the lists in the page.
  var index = Array.prototype.map.call(document.querySelectorAll('#directories li[data-search]'), function (item) {
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

  function link(entry) {
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
    for (var i = 0; i < index.length; i += 1) {
      if (index[i].search.indexOf(needle) === -1) continue;
      found += 1;
      if (found <= MAX_RESULTS) fragment.appendChild(link(index[i]));
    }
    results.appendChild(fragment);
    status.textContent = found === 0
      ? status.getAttribute('data-none')
      : found + ' ' + status.getAttribute('data-found') + (found > MAX_RESULTS ? ' ' + status.getAttribute('data-truncated') : '');
  }

  var timer;
  field.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { show(field.value); }, 120);
  });

  function links() {
    return Array.prototype.slice.call(results.querySelectorAll('a'));
  }

  field.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown') {
      clearTimeout(timer);
      show(field.value);
      var first = links()[0];
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
