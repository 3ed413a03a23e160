// The chat room page: long-polls for new messages and sends without a reload.
// Loaded by room.html as a static file; everything it needs comes from the
// page's data- attributes (room, the updates URL) and the form itself.
(function () {
  "use strict";
  var list = document.getElementById("messages");
  var form = document.getElementById("compose");
  if (!list || !form) return;
  // What the page knows, in data- attributes: no inline script, so the
  // Content-Security-Policy needs no nonce.
  var room = form.dataset.room;
  var updatesUrl = form.dataset.updatesUrl;
  var newUrl = form.action;
  var nick = document.getElementById("nick");
  var body = document.getElementById("body");
  var status = document.getElementById("status");
  var xsrf = form.querySelector("input[name=_xsrf]");
  // The id of the newest message this page has: opaque, only ever sent back as it came.
  var cursor = list.dataset.cursor || "0";
  nick.value = localStorage.getItem("chat-nick") || "";

  function params(fields) {
    var data = new URLSearchParams(fields);
    if (xsrf) data.append("_xsrf", xsrf.value);
    return data;
  }

  function show(message) {
    if (list.querySelector('li[data-id="' + message.id + '"]')) return;
    var li = document.createElement("li");
    li.dataset.id = message.id;
    var who = document.createElement("b");
    who.textContent = message.nick;   // text, never HTML: no injection
    li.appendChild(who);
    li.appendChild(document.createTextNode(" " + message.body));
    list.appendChild(li);
    li.scrollIntoView({block: "nearest"});
  }

  // Only a poll's answer moves the cursor: it knows what comes after what.
  // (A sent message is shown at once, and skipped when its poll brings it.)
  function poll() {
    fetch(updatesUrl, {method: "POST", body: params({room: room, cursor: cursor})})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        data.messages.forEach(show);
        cursor = data.cursor || cursor;
        if (data.reconnect) {
          status.textContent = "Reconnecting…";
          setTimeout(poll, 1000 * (data.retry_after || 1));
        } else {
          status.textContent = "";
          setTimeout(poll, 0);
        }
      })
      .catch(function () {
        status.textContent = "Connection lost; retrying…";
        setTimeout(poll, 2000);
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    localStorage.setItem("chat-nick", nick.value);
    var text = body.value;
    if (!text.trim()) return;
    body.value = "";
    fetch(newUrl, {method: "POST", body: params({room: room, nick: nick.value, body: text})})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(show)
      .catch(function () { status.textContent = "Could not send; try again."; body.value = text; });
  });

  poll();
})();
