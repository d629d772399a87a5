// Reviewer workbench keyboard shortcuts. Plain JavaScript, no library; every action also
// works with the mouse and without JavaScript (the forms are ordinary HTML forms).
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && !/^(checkbox|radio|button|submit)$/.test(target.type));
  }

  function byKey(selector, n) {
    return document.querySelector(selector + '[data-key="' + n + '"]');
  }

  function submitOnce(form) {
    if (form.dataset.sent) return;
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function keepPrimaryChecked(form) {
    // the primary field must be one of the ticked ones: move it when it is unticked
    var primary = form.querySelector('input[name=primary]:checked');
    if (primary && form.querySelector('#f-' + CSS.escape(primary.value)).checked) return;
    var first = form.querySelector('input[name=f]:checked');
    if (first) form.querySelector('#p-' + CSS.escape(first.value)).checked = true;
  }

  function itemPage(form) {
    var dupIndex = -1;
    form.addEventListener("change", function (e) {
      if (e.target.name === "primary") form.querySelector('#f-' + CSS.escape(e.target.value)).checked = true;
      if (e.target.name === "f") keepPrimaryChecked(form);
    });
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) setTimeout(function () { button.disabled = true; }, 0);
    });
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(e.target)) {
        if (e.key === "Escape") e.target.blur();
        return;
      }
      var digit = /^Digit([1-9])$/.exec(e.code || "");
      if (digit) {
        var n = digit[1];
        if (e.shiftKey) {
          var radio = byKey('input[name=primary]', n);
          if (radio) { radio.checked = true; byKey('input[name=f]', n).checked = true; }
        } else {
          var box = byKey('input[name=f]', n);
          if (box) { box.checked = !box.checked; keepPrimaryChecked(form); }
        }
        e.preventDefault();
        return;
      }
      switch (e.key.toLowerCase()) {
        case "a": e.preventDefault(); submitOnce(form); break;
        case "n": e.preventDefault(); document.getElementById("next-link").click(); break;
        case "q": e.preventDefault(); document.getElementById("queue-link").click(); break;
        case "k": e.preventDefault(); document.getElementById("dup-none").checked = true; break;
        case "c": e.preventDefault(); document.getElementById("note").focus(); break;
        case "d":
          var candidates = form.querySelectorAll("input.dup-candidate");
          if (candidates.length) {
            dupIndex = (dupIndex + 1) % candidates.length;
            candidates[dupIndex].checked = true;
            candidates[dupIndex].scrollIntoView({block: "nearest"});
          }
          e.preventDefault();
          break;
      }
    });
  }

  function queuePage(table) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var at = 0;
    function select(i) {
      if (!rows.length) return;
      rows[at].classList.remove("selected");
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows[at].classList.add("selected");
      rows[at].scrollIntoView({block: "nearest"});
    }
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      var key = e.key.toLowerCase();
      if (key === "j") { select(at + 1); e.preventDefault(); }
      else if (key === "k") { select(at - 1); e.preventDefault(); }
      else if (e.key === "Enter" && rows.length) { e.preventDefault(); window.location.href = rows[at].dataset.href; }
      else if (e.key === "/") { e.preventDefault(); document.querySelector('input[name=unit]').focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("decision");
    if (form) itemPage(form);
    var table = document.getElementById("queue");
    if (table) queuePage(table);
  });
})();
