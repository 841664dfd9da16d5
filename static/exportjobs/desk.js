/* Export Job Desk: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";

  var REFRESH_MS = 10000; // unless the page's element says otherwise (data-refresh-seconds)

  // --- copy buttons -------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy-failed")); }
    });
  }

  function showCopyButtons(root) {
    root.querySelectorAll("[data-copy], [data-copy-from]").forEach(function (button) {
      button.hidden = false;
    });
    root.querySelectorAll(".auto-refresh-note").forEach(function (note) { note.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    if (text === null) {
      var source = document.getElementById(button.getAttribute("data-copy-from"));
      text = source ? source.textContent : "";
    }
    // The words come from the page, in its language: the button's data-copied, the body's data-copy-failed.
    var status = document.querySelector(".copy-status");
    copyText(text).then(function () {
      if (status) { status.textContent = button.getAttribute("data-copied") || button.textContent; }
    }, function () {
      if (status) { status.textContent = document.body.getAttribute("data-copy-failed") || ""; }
    });
  });

  // --- times in the viewer's own zone, on the same line ------------------------------
  // Each time is written in the desk's zone (the company's) in the page's language. A viewer in another zone
  // also gets their own, right after it on the same line, in the same locale's format (the page's own way of
  // joining a day and a time, data-datetime): only the time when it is the same day there, else the day too
  // ("6 Dec 2026, 11:26 CET · 12:26 EET").
  function localFormats(locale, viewerZone) {
    return {
      time: new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone: viewerZone }),
      day: new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: viewerZone }),
      zone: new Intl.DateTimeFormat(locale, { timeZone: viewerZone, timeZoneName: "short" })
    };
  }

  function zoneLabel(format, when, fallback) {
    var parts = format.formatToParts(when).filter(function (part) { return part.type === "timeZoneName"; });
    return parts.length ? parts[0].value : fallback;
  }

  function showLocalTimes(root) {
    var viewerZone;
    try { viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    var deskZone = document.body.getAttribute("data-zone");
    if (!viewerZone || !deskZone || viewerZone === deskZone) { return; }
    var locale = document.body.getAttribute("data-locale") || document.documentElement.lang || undefined;
    var glue = (document.body.getAttribute("data-datetime") || "{1}, {0}").replace(/'/g, "");
    var formats, deskDay;
    try {
      formats = localFormats(locale, viewerZone);
      deskDay = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: deskZone });
    } catch (e) { return; }
    root.querySelectorAll("time[data-local]").forEach(function (node) {
      if (node.nextElementSibling && node.nextElementSibling.classList.contains("local-zone")) { return; }
      var when = new Date(node.getAttribute("datetime"));
      if (isNaN(when.getTime())) { return; }
      var day = formats.day.format(when);
      var time = formats.time.format(when);
      var text = day === deskDay.format(when) ? time : glue.replace("{1}", day).replace("{0}", time);
      var span = document.createElement("span");
      span.className = "local-zone";
      span.textContent = " · " + text + " " + zoneLabel(formats.zone, when, viewerZone);
      node.insertAdjacentElement("afterend", span);
    });
  }

  // --- auto-refresh: an active job (every 10 s), the needs-attention list (every 60 s) ----------
  // The element with data-auto-refresh="true" is replaced by the same element of a fresh copy of the
  // page, fetched in the background while the tab is visible.
  var timer = null;

  function root() {
    return document.querySelector("[data-auto-refresh]");
  }

  function active() {
    var element = root();
    return element && element.id && element.getAttribute("data-auto-refresh") === "true";
  }

  function interval() {
    var seconds = parseInt(root().getAttribute("data-refresh-seconds"), 10);
    return seconds > 0 ? seconds * 1000 : REFRESH_MS;
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (active() && document.visibilityState === "visible") {
      timer = setTimeout(reload, interval());
    }
  }

  function reload() {
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    })
      .then(function (response) {
        if (response.status === 403 && response.headers.get("X-Desk-Sign-In") === "renew") {
          // The sign-in is due to be checked with the company's identity provider: that takes the whole
          // page through the provider and back, which a background fetch cannot do.
          window.location.reload();
          return new Promise(function () {});
        }
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var current = root();
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = current ? doc.getElementById(current.id) : null;
        if (!fresh || !current) { throw new Error("nothing-to-update"); }
        var openIds = [];
        current.querySelectorAll("details[open] > summary").forEach(function (s) { openIds.push(s.textContent); });
        current.replaceWith(fresh);
        fresh.querySelectorAll("details > summary").forEach(function (s) {
          if (openIds.indexOf(s.textContent) >= 0) { s.parentElement.open = true; }
        });
        document.title = doc.title;
        enhance(fresh);
        schedule();
      })
      .catch(function () {
        // Leave the page as it is and try again later.
        timer = setTimeout(reload, (root() ? interval() : REFRESH_MS) * 3);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { schedule(); } else { clearTimeout(timer); timer = null; }
  });

  function enhance(root) {
    showCopyButtons(root);
    showLocalTimes(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    schedule();
  });
})();
